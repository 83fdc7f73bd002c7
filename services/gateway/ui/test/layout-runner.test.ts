import { describe, expect, it } from 'vitest';
import type { Layout } from '../src/graph-layout';
import {
  type LayoutAnswer,
  type LayoutRequest,
  LayoutRunner,
  type LayoutWorker,
  layoutAnswer,
} from '../src/layout-runner';

/** A worker that answers only when the test says so. */
class FakeWorker implements LayoutWorker {
  onmessage: ((e: { data: LayoutAnswer }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  requests: LayoutRequest[] = [];
  postMessage(request: LayoutRequest) {
    this.requests.push(request);
  }
  terminate() {}
  answer(i: number) {
    const request = this.requests[i];
    if (request) this.onmessage?.({ data: layoutAnswer(request) });
  }
}

const input = (n: number) => ({ nodes: Array.from({ length: n }, (_, i) => `t${i}`), edges: [] });

describe('LayoutRunner', () => {
  it('runs one layout at a time and, of the requests made meanwhile, only the newest', () => {
    const worker = new FakeWorker();
    const layouts: Layout[] = [];
    const busyWhenTold: boolean[] = [];
    const runner: LayoutRunner = new LayoutRunner(
      (l) => {
        layouts.push(l);
        busyWhenTold.push(runner.busy);
      },
      () => worker,
    );
    runner.request(input(1));
    runner.request(input(2));
    runner.request(input(3));
    expect(worker.requests).toHaveLength(1);
    expect(runner.busy).toBe(true);
    worker.answer(0);
    expect(layouts.map((l) => l.positions.size)).toEqual([1]);
    expect(worker.requests.map((r) => r.input.nodes.length)).toEqual([1, 3]);
    worker.answer(1);
    expect(layouts.map((l) => l.positions.size)).toEqual([1, 3]);
    expect(runner.busy).toBe(false);
    // While the first answer was shown, the newest request was already running.
    expect(busyWhenTold).toEqual([true, false]);
  });

  it('lays out in place without a worker, and falls back to that when the worker fails', async () => {
    const layouts: Layout[] = [];
    const plain = new LayoutRunner((l) => layouts.push(l));
    plain.request(input(2));
    await Promise.resolve();
    expect(layouts[0]?.positions.size).toBe(2);

    const worker = new FakeWorker();
    const failing = new LayoutRunner(
      (l) => layouts.push(l),
      () => worker,
    );
    failing.request(input(4));
    worker.onerror?.(new Error('could not load'));
    await Promise.resolve();
    expect(layouts[1]?.positions.size).toBe(4);
  });
});
