import type { CloudEvent } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import { renderBody, summarize } from '../src/formats.js';

const event: CloudEvent = {
  specversion: '1.0',
  id: 'coord-12-0',
  source: '/jousting/coordinator',
  type: 'coord.task-updated',
  time: '2026-11-22T10:00:00.000Z',
  subject: 't1',
  traceid: 'tr1',
  data: { id: 't1', from: 'running', to: 'failed', reason: 'exit code 2 <boom>' },
};
const raw = JSON.stringify(event);

describe('webhook formats', () => {
  it('generic sends the CloudEvent exactly as stored', () => {
    expect(renderBody('generic', event, raw)).toBe(raw);
  });

  it('slack sends text plus blocks, with mrkdwn control characters escaped', () => {
    const body = JSON.parse(renderBody('slack', event, raw));
    expect(body.text).toBe('Task t1: running → failed (exit code 2 <boom>)');
    expect(body.blocks[0].text.text).toBe('*Task t1: running → failed (exit code 2 &lt;boom&gt;)*');
    expect(body.blocks.at(-1).elements[0].text).toContain('coord-12-0');
  });

  it('discord sends content plus an embed, and mentions nobody', () => {
    const body = JSON.parse(renderBody('discord', event, raw));
    expect(body.content).toBe('Task t1: running → failed (exit code 2 <boom>)');
    expect(body.embeds[0]).toMatchObject({ title: 'coord.task-updated', timestamp: event.time });
    expect(body.embeds[0].description).toContain('"to": "failed"');
    expect(body.allowed_mentions).toEqual({ parse: [] });
  });

  it('summarizes unknown types by type and subject, and cuts long data', () => {
    const big: CloudEvent = { ...event, type: 'fleet.something', data: { blob: 'x'.repeat(5000) } };
    expect(summarize(big)).toBe('fleet.something (t1)');
    const body = JSON.parse(renderBody('discord', big, JSON.stringify(big)));
    expect(body.embeds[0].description.length).toBeLessThan(1600);
  });
});
