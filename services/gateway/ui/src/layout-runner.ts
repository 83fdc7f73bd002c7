import { type Layout, type LayoutInput, layoutGraph } from './graph-layout';

/**
 * Runs graph layouts off the main thread (dagre takes seconds on a thousand tasks), one at a time:
 * while one runs, only the newest request waits; older ones are dropped. Without Worker support
 * (tests, old browsers) it lays out in place.
 */

export interface LayoutRequest {
  id: number;
  input: LayoutInput;
}

export interface LayoutAnswer {
  id: number;
  positions: Array<[string, { x: number; y: number }]>;
  width: number;
  height: number;
  engine: Layout['engine'];
  ms: number;
}

/** The part of a Worker the runner uses. */
export interface LayoutWorker {
  postMessage(request: LayoutRequest): void;
  onmessage: ((e: { data: LayoutAnswer }) => void) | null;
  onerror: ((e: unknown) => void) | null;
  terminate(): void;
}

export function layoutAnswer(
  request: LayoutRequest,
  now: () => number = () => performance.now(),
): LayoutAnswer {
  const started = now();
  const layout = layoutGraph(request.input);
  return {
    id: request.id,
    positions: [...layout.positions],
    width: layout.width,
    height: layout.height,
    engine: layout.engine,
    ms: Math.round(now() - started),
  };
}

export class LayoutRunner {
  private nextId = 1;
  private running: LayoutRequest | undefined;
  private waiting: LayoutRequest | undefined;
  private worker: LayoutWorker | undefined;

  constructor(
    private readonly onLayout: (layout: Layout & { ms: number }) => void,
    createWorker?: () => LayoutWorker | undefined,
  ) {
    try {
      this.worker = createWorker?.();
    } catch {
      this.worker = undefined;
    }
    if (this.worker) {
      this.worker.onmessage = (e) => this.answered(e.data);
      // A worker that fails (e.g. could not load) is dropped; layouts then run in place.
      this.worker.onerror = () => {
        this.worker?.terminate();
        this.worker = undefined;
        const current = this.running;
        if (current) this.run(current);
      };
    }
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  request(input: LayoutInput): void {
    const request = { id: this.nextId++, input };
    if (this.running !== undefined) {
      this.waiting = request;
      return;
    }
    this.run(request);
  }

  dispose(): void {
    this.worker?.terminate();
    this.worker = undefined;
    this.waiting = undefined;
    this.running = undefined;
  }

  private run(request: LayoutRequest): void {
    this.running = request;
    if (this.worker) {
      this.worker.postMessage(request);
      return;
    }
    // Let the caller finish its render before the (synchronous) layout.
    queueMicrotask(() => this.answered(layoutAnswer(request)));
  }

  private answered(answer: LayoutAnswer): void {
    if (answer.id !== this.running?.id) return;
    this.running = undefined;
    const waiting = this.waiting;
    this.waiting = undefined;
    // Start the newer request first, so `busy` tells the listener another layout is coming.
    if (waiting) this.run(waiting);
    // A newer request supersedes this answer, but showing it meanwhile beats showing nothing.
    this.onLayout({
      positions: new Map(answer.positions),
      width: answer.width,
      height: answer.height,
      engine: answer.engine,
      ms: answer.ms,
    });
  }
}
