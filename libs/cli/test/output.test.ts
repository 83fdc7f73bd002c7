import { DEFAULT_SETTINGS, settingsJsonSchema } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import {
  formatChanges,
  formatError,
  formatReadiness,
  formatSettingsTable,
  formatTable,
  formatValue,
} from '../src/output.js';
import { settingSpecs } from '../src/settings-values.js';
import { formatLogLine, formatNotice } from '../src/stack/log-lines.js';

describe('formatTable', () => {
  it('aligns columns two spaces apart and trims trailing blanks', () => {
    expect(
      formatTable([
        ['a', 'bb', ''],
        ['ccc', 'd', 'x'],
      ]),
    ).toBe('a    bb\nccc  d   x');
  });
});

describe('formatValue', () => {
  it('shows strings bare and everything else as JSON', () => {
    expect(formatValue('opus')).toBe('opus');
    expect(formatValue(40)).toBe('40');
    expect(formatValue(false)).toBe('false');
    expect(formatValue(undefined)).toBe('(unset)');
  });
});

describe('formatSettingsTable', () => {
  it('lists every setting in schema order and marks values equal to their default', () => {
    const table = formatSettingsTable(
      { ...DEFAULT_SETTINGS, maxTurns: 40 },
      settingSpecs(settingsJsonSchema()),
    );
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^KEY\s+VALUE$/);
    expect(lines).toContain('coordMaxRequestsPerMinute  60      (default)');
    expect(lines).toContain('maxTurns                   40');
    expect(lines).toContain('model                      sonnet  (default)');
    expect(lines).toHaveLength(1 + Object.keys(DEFAULT_SETTINGS).length);
  });

  it('still lists a setting the schema does not know, without a marker', () => {
    expect(formatSettingsTable({ newThing: 1 }, new Map())).toBe('KEY       VALUE\nnewThing  1');
  });
});

describe('formatChanges', () => {
  it('prints one "key: from → to" line per change', () => {
    expect(formatChanges({ maxTurns: { from: 30, to: 40 }, model: { from: 'sonnet', to: 'opus' } })).toBe(
      'maxTurns: 30 \u2192 40\nmodel: sonnet \u2192 opus',
    );
  });

  it('says "nothing changed" when there is no change', () => {
    expect(formatChanges({})).toBe('nothing changed');
  });
});

describe('formatReadiness', () => {
  it('shows NATS and each service, and what is missing when not ready', () => {
    const text = formatReadiness({
      ready: false,
      nats: { connected: true, server: 'nats://127.0.0.1:4222', rttMs: 0.4 },
      services: {
        settings: { ok: false, instances: 0, error: 'no responders' },
        gateway: { ok: true, instances: 1 },
      },
      missing: ['settings'],
    });
    expect(text).toBe(
      [
        'NOT ready',
        'nats      connected, nats://127.0.0.1:4222, rtt 0.4 ms',
        'gateway   ok (1 instance)',
        'settings  DOWN (0 instances, no responders)',
        'missing: settings',
      ].join('\n'),
    );
  });
});

describe('formatError', () => {
  it('prints the message then each field issue indented', () => {
    expect(formatError('invalid input', [{ field: 'maxTurns', message: 'Too big' }])).toBe(
      'error: invalid input\n  maxTurns: Too big',
    );
  });
});

describe('formatLogLine', () => {
  const line = JSON.stringify({
    level: 'info',
    time: '2026-01-02T03:04:05.678Z',
    service: 'settings',
    pid: 1,
    instance: 'settings-ab',
    msg: 'service started',
    endpoints: ['api.settings.get'],
  });

  it('keeps JSON lines as they are behind a padded name when not on a terminal', () => {
    expect(formatLogLine('settings', line, { mode: 'raw', width: 10, color: false })).toBe(
      `settings   | ${line}`,
    );
  });

  it('shows time, level and message on a terminal, extra fields after', () => {
    expect(formatLogLine('settings', line, { mode: 'pretty', width: 8, color: false })).toBe(
      'settings | 03:04:05 INFO  service started endpoints=["api.settings.get"]',
    );
  });

  it('shows a line that is not JSON as it is', () => {
    const nats = '[1] 2026/01/02 03:04:05.678 [INF] Server is ready';
    expect(formatLogLine('nats', nats, { mode: 'pretty', width: 6, color: false })).toBe(`nats   | ${nats}`);
  });

  it('in JSON mode passes JSON through and wraps other lines', () => {
    expect(formatLogLine('settings', line, { mode: 'json', width: 8, color: false })).toBe(line);
    expect(JSON.parse(formatLogLine('nats', 'hello', { mode: 'json', width: 8, color: false }))).toEqual({
      service: 'nats',
      msg: 'hello',
    });
  });

  it('formats a notice of up like a service line', () => {
    expect(formatNotice('jousting', 'starting', { mode: 'raw', width: 9, color: false })).toBe(
      'jousting  | starting',
    );
    expect(
      JSON.parse(
        formatNotice('jousting', 'ready', { mode: 'json', width: 9, color: false }, 'info', { x: 1 }),
      ),
    ).toMatchObject({ service: 'jousting', level: 'info', msg: 'ready', x: 1 });
  });
});
