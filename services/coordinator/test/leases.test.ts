import { describe, expect, it } from 'vitest';
import { LeaseTable } from '../src/leases.js';
import { WorkerRegistry } from '../src/workers.js';

describe('leases', () => {
  it('expire after the lease time unless renewed', () => {
    let now = 0;
    const leases = new LeaseTable(1000, () => now);
    leases.grant('a', 1, 'w1');
    now = 500;
    leases.grant('b', 1, 'w1');
    now = 900;
    expect(leases.renew('a', 1)).toBe(true);
    now = 1500;
    expect(leases.takeExpired().map((l) => l.taskId)).toEqual(['b']);
    now = 1899;
    expect(leases.takeExpired()).toEqual([]);
    now = 1900;
    expect(leases.takeExpired()).toEqual([
      { taskId: 'a', attempt: 1, workerId: 'w1', deadline: 1900, index: 0 },
    ]);
    expect(leases.size).toBe(0);
  });

  it('renews only the attempt that holds the lease', () => {
    let now = 0;
    const leases = new LeaseTable(100, () => now);
    leases.grant('a', 2, 'w1');
    expect(leases.renew('a', 1)).toBe(false);
    expect(leases.renew('x', 1)).toBe(false);
    now = 100;
    expect(leases.takeExpired()).toHaveLength(1);
  });

  it('forgets released leases and hands out expiries in deadline order among many', () => {
    let now = 0;
    const leases = new LeaseTable(10_000, () => now);
    for (let i = 0; i < 1000; i++) {
      now = (i * 7919) % 5000;
      leases.grant(`t${i}`, 1, 'w');
    }
    for (let i = 0; i < 1000; i += 2) leases.release(`t${i}`);
    now = 1_000_000;
    const deadlines = leases.takeExpired().map((l) => l.deadline);
    expect(deadlines).toHaveLength(500);
    expect([...deadlines].sort((a, b) => a - b)).toEqual(deadlines);
  });
});

describe('workers', () => {
  const hello = { workerId: 'w1', name: 'one', kinds: ['exec'], labels: [], capacity: 2, version: '1' };

  it('joins once, stays online while heard from, and times out after the timeout', () => {
    let now = 0;
    const workers = new WorkerRegistry(300, () => now);
    expect(workers.hello(hello).joined).toBe(true);
    expect(workers.hello(hello).joined).toBe(false);
    now = 250;
    expect(workers.seen('w1')).toBeDefined();
    now = 500;
    expect(workers.takeTimedOut()).toEqual([]);
    now = 551;
    expect(workers.takeTimedOut().map((w) => w.id)).toEqual(['w1']);
    expect(workers.seen('w1')).toBeUndefined();
    expect(workers.hello(hello).joined).toBe(true);
  });

  it('takes a worker offline on bye', () => {
    const workers = new WorkerRegistry(300);
    workers.hello(hello);
    expect(workers.leave('w1')?.status).toBe('offline');
    expect(workers.leave('w1')).toBeUndefined();
    expect(workers.seen('w1')).toBeUndefined();
  });
});
