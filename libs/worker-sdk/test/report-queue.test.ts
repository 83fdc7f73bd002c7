import type { WorkerReport } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import { queuedReport, ReportQueue } from '../src/report-queue.js';

const started = (taskId: string): WorkerReport => ({ type: 'started', taskId, attempt: 1 });
const completed = (taskId: string): WorkerReport => ({ type: 'completed', taskId, attempt: 1 });
const names = (batch: { reports: { taskId: string; type: string }[] } | undefined) =>
  batch?.reports.map((r) => `${r.taskId}:${r.type}`);

describe('ReportQueue', () => {
  it('takes reports in order, up to the item limit', () => {
    const q = new ReportQueue();
    for (const id of ['a', 'b', 'c']) q.push(queuedReport(started(id)));
    expect(names(q.take(2, 1e6))).toEqual(['a:started', 'b:started']);
    expect(q.size).toBe(1);
  });

  it('never puts reports of one attempt in two batches in flight at once', () => {
    const q = new ReportQueue();
    q.push(queuedReport(started('a')));
    const first = q.take(10, 1e6);
    q.push(queuedReport(completed('a')));
    q.push(queuedReport(started('b')));
    expect(names(q.take(10, 1e6))).toEqual(['b:started']);
    if (first) q.settle(first);
    expect(names(q.take(10, 1e6))).toEqual(['a:completed']);
  });

  it('keeps later reports of an attempt behind one that did not fit', () => {
    const q = new ReportQueue();
    q.push(queuedReport(started('a')));
    q.push(
      queuedReport({
        type: 'failed',
        taskId: 'b',
        attempt: 1,
        errorClass: 'fatal',
        message: 'x'.repeat(500),
      }),
    );
    q.push(queuedReport(completed('b')));
    q.push(queuedReport(completed('a')));
    expect(names(q.take(10, 200))).toEqual(['a:started', 'a:completed']);
    expect(names(q.take(10, 200))).toEqual(['b:failed']);
  });

  it('puts an undelivered batch back in front, in order', () => {
    const q = new ReportQueue();
    q.push(queuedReport(started('a')));
    q.push(queuedReport(started('b')));
    const batch = q.take(1, 1e6);
    q.push(queuedReport(completed('a')));
    if (batch) q.requeue(batch);
    expect(names(q.take(10, 1e6))).toEqual(['a:started', 'b:started', 'a:completed']);
  });

  it('adds heartbeats last, only for attempts with nothing left waiting or in another batch in flight', () => {
    const q = new ReportQueue();
    q.push(queuedReport(started('a')));
    const inFlight = q.take(10, 1e6);
    q.push(queuedReport(started('b')));
    q.push(
      queuedReport({
        type: 'failed',
        taskId: 'd',
        attempt: 1,
        errorClass: 'fatal',
        message: 'x'.repeat(500),
      }),
    );
    const asked: string[] = [];
    const batch = q.take(10, 200, (room) => {
      for (const key of ['a#1', 'b#1', 'c#1', 'd#1']) if (room.isFree(key)) asked.push(key);
      return [queuedReport({ type: 'heartbeat', taskId: 'c', attempt: 1 })];
    });
    // a is in flight, d still waits (too big for this batch); b's started is in this very batch, so
    // a heartbeat of b may follow it.
    expect(asked).toEqual(['b#1', 'c#1']);
    expect(names(batch)).toEqual(['b:started', 'c:heartbeat']);
    expect(inFlight).toBeDefined();
  });

  it('forgets the waiting reports of an aborted attempt', () => {
    const q = new ReportQueue();
    q.push(queuedReport(started('a')));
    q.push(queuedReport(started('b')));
    q.dropAttempt('a#1');
    expect(names(q.take(10, 1e6))).toEqual(['b:started']);
    expect(q.take(10, 1e6)).toBeUndefined();
  });
});
