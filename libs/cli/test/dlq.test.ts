import type { DeadLetter, Task } from '@jousting/contracts';
import { beforeEach, describe, expect, it } from 'vitest';
import { cli, errorResponse, gatewayStandIn, jsonResponse, T0, taskOf } from './cli-runner.js';

const letter = (id: string, fields: Partial<DeadLetter> = {}): DeadLetter => ({
  id,
  taskId: id,
  kind: 'exec',
  title: `task ${id}`,
  attempts: 4,
  lastError: { class: 'transient', message: 'exited with code 3' },
  status: 'open',
  createdAt: T0,
  updatedAt: T0,
  ...fields,
});

const taskOfLetter = (d: DeadLetter, fields: Partial<Task> = {}): Task =>
  taskOf({ id: d.id, title: d.title, kind: d.kind, ...fields });

/** A stand-in for the gateway's dead-letter routes, recording every request. */
function fakeDeadLetterGateway() {
  const letters = new Map<string, DeadLetter>();
  const { fetch, requests } = gatewayStandIn(({ method, url, parts, body }) => {
    const found = parts[2] ? letters.get(parts[2]) : undefined;
    if (method === 'GET' && url.pathname === '/api/dead-letters') {
      const status = url.searchParams.get('status');
      const kind = url.searchParams.get('kind');
      const limit = Number(url.searchParams.get('limit') ?? 50);
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const all = [...letters.values()]
        .reverse()
        .filter((d) => (!status || d.status === status) && (!kind || d.kind === kind));
      const items = all.slice(offset, offset + limit);
      return jsonResponse(200, {
        items,
        total: all.length,
        limit,
        offset,
        hasMore: offset + items.length < all.length,
      });
    }
    if (method === 'POST' && parts[3] === 'retry') {
      if (!found) return errorResponse(404, 'not_found', `dead letter ${parts[2]} not found`);
      letters.delete(found.id);
      return jsonResponse(200, taskOfLetter(found, body));
    }
    if (method === 'POST' && parts[3] === 'dismiss') {
      if (!found) return errorResponse(404, 'not_found', `dead letter ${parts[2]} not found`);
      Object.assign(found, { status: 'dismissed', dismissReason: body.reason });
      return jsonResponse(200, found);
    }
    return errorResponse(404, 'not_found', `no route for ${method} ${url.pathname}`);
  });
  return { fetch, requests, letters };
}

let gateway: ReturnType<typeof fakeDeadLetterGateway>;
let jousting: ReturnType<typeof cli>;

beforeEach(() => {
  gateway = fakeDeadLetterGateway();
  for (const d of [
    letter('build'),
    letter('deploy', { kind: 'agent', attempts: 1, lastError: { class: 'fatal', message: 'no such repo' } }),
    letter('old', { status: 'dismissed', dismissReason: 'known' }),
  ]) {
    gateway.letters.set(d.id, d);
  }
  jousting = cli(
    { JOUSTING_URL: 'http://gw.test:1', JOUSTING_TOKEN: `jst_${'b'.repeat(64)}` },
    gateway.fetch,
  );
});

describe('jousting dlq ls', () => {
  it('prints an aligned table, newest first', async () => {
    const result = await jousting('dlq', 'ls');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+KIND\s+ATTEMPTS\s+ERROR\s+AGE\s+TITLE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ['old', 'dismissed', 'exec', '4'],
      ['deploy', 'open', 'agent', '1'],
      ['build', 'open', 'exec', '4'],
    ]);
    expect(lines[2]).toContain('fatal: no such repo');
    expect(gateway.requests.at(-1)).toMatchObject({ path: '/api/dead-letters', query: {} });
  });

  it('sends the filters as the query and says where the next page starts', async () => {
    const result = await jousting('dlq', 'ls', '--status', 'open', '--kind', 'exec', '--limit', '1');
    expect(gateway.requests.at(-1)?.query).toEqual({ status: 'open', kind: 'exec', limit: '1' });
    expect(result.stdout).toMatch(/\nbuild +open/);
    expect(result.stdout).not.toMatch(/1-1 of/);
    const paged = await jousting('dlq', 'ls', '--limit', '1', '--offset', '1');
    expect(paged.stdout).toMatch(/\n2-2 of 3; next page: --offset 2\n$/);
  });

  it('prints the page as JSON with --json', async () => {
    const result = await jousting('dlq', 'ls', '--json', '--status', 'dismissed');
    const page = JSON.parse(result.stdout);
    expect(page).toMatchObject({ total: 1, hasMore: false });
    expect(page.items).toMatchObject([{ id: 'old', dismissReason: 'known' }]);
  });

  it('refuses an unknown status or a bad limit as a usage error without asking', async () => {
    const status = await jousting('dlq', 'ls', '--status', 'retried');
    expect(status.code).toBe(64);
    expect(status.stderr).toContain('unknown status "retried"; use open or dismissed');
    const limit = await jousting('dlq', 'ls', '--limit', '0');
    expect(limit.code).toBe(64);
    expect(limit.stderr).toContain('--limit must be an integer from 1 to 100, got "0"');
    expect(gateway.requests).toEqual([]);
  });

  it('says so when there are none', async () => {
    gateway.letters.clear();
    expect((await jousting('dlq', 'ls')).stdout).toBe('no dead letters\n');
  });
});

describe('jousting dlq retry', () => {
  it('sends the new priority and labels and prints the new status', async () => {
    const result = await jousting(
      'dlq',
      'retry',
      'build',
      '--priority=-5',
      '--label',
      'gpu',
      '--label',
      'big',
    );
    expect(result).toEqual({ code: 0, stdout: 'retried build: queued\n', stderr: '' });
    expect(gateway.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: '/api/dead-letters/build/retry',
      body: { priority: -5, labels: ['gpu', 'big'] },
    });
  });

  it('sends an empty body without options, prints JSON with --json, and exits 1 for an unknown id', async () => {
    const json = await jousting('dlq', 'retry', 'deploy', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'deploy', status: 'queued' });
    expect(gateway.requests.at(-1)?.body).toEqual({});
    const missing = await jousting('dlq', 'retry', 'deploy');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('dead letter deploy not found');
  });

  it('refuses a bad priority or label and a missing id as usage errors without asking', async () => {
    expect((await jousting('dlq', 'retry', 'build', '--priority', 'high')).code).toBe(64);
    const label = await jousting('dlq', 'retry', 'build', '--label', 'no spaces');
    expect(label.code).toBe(64);
    expect(label.stderr).toContain('--label "no spaces"');
    expect((await jousting('dlq', 'retry')).stderr).toContain('missing <id>');
    expect(gateway.requests).toEqual([]);
  });
});

describe('jousting dlq dismiss', () => {
  it('sends the reason and prints what it dismissed', async () => {
    const result = await jousting('dlq', 'dismiss', 'build', '--reason', 'flaky disk, replaced');
    expect(result).toEqual({ code: 0, stdout: 'dismissed build\n', stderr: '' });
    expect(gateway.requests.at(-1)).toMatchObject({
      path: '/api/dead-letters/build/dismiss',
      body: { reason: 'flaky disk, replaced' },
    });
    const json = await jousting('dlq', 'dismiss', 'deploy', '--reason', 'x', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'deploy', status: 'dismissed', dismissReason: 'x' });
  });

  it('needs --reason', async () => {
    const result = await jousting('dlq', 'dismiss', 'build');
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('missing --reason TEXT');
    expect(gateway.requests).toEqual([]);
  });

  it('has help', async () => {
    const help = await jousting('dlq', 'dismiss', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: jousting dlq dismiss <id> --reason TEXT');
    expect((await jousting('--help')).stdout).toMatch(/dlq ls +List dead letters/);
  });
});
