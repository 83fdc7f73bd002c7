/**
 * Ready tasks, best first: higher priority, then older (lower creation order). Tasks are kept in
 * one indexed binary heap per (kind, labels) combination, so a worker only looks at the heaps it
 * can run, and removing a task from the middle (cancel, a new dependency) is O(log n).
 */
export interface ReadyItem {
  readonly priority: number;
  readonly order: number;
  readonly kind: string;
  readonly labels: readonly string[];
  /** Position in its heap, -1 when not queued; owned by the queue. */
  readyIndex: number;
  /** The heap holding it; owned by the queue. */
  readyBucket: unknown;
}

/** What a worker can run. */
export interface WorkerMatch {
  readonly kinds: readonly string[];
  readonly labels: readonly string[];
}

class Bucket<T extends ReadyItem> {
  readonly heap: T[] = [];
  constructor(
    readonly kind: string,
    readonly labels: readonly string[],
  ) {}
}

const before = (a: ReadyItem, b: ReadyItem) =>
  a.priority !== b.priority ? a.priority > b.priority : a.order < b.order;

export class ReadyQueue<T extends ReadyItem> {
  private readonly buckets = new Map<string, Bucket<T>>();
  /** Buckets a worker profile can take from, per profile; cleared when a bucket appears. */
  private readonly matching = new Map<string, Bucket<T>[]>();
  private count = 0;
  /** The bucket of the last item added, by its (interned) kind and labels. */
  private lastKind: string | undefined;
  private lastLabels: readonly string[] | undefined;
  private lastBucket: Bucket<T> | undefined;

  get size(): number {
    return this.count;
  }

  has(item: T): boolean {
    return item.readyIndex >= 0;
  }

  add(item: T): void {
    if (item.readyIndex >= 0) return;
    const bucket = this.bucketFor(item.kind, item.labels);
    item.readyBucket = bucket;
    item.readyIndex = bucket.heap.length;
    bucket.heap.push(item);
    this.siftUp(bucket.heap, item.readyIndex);
    this.count++;
  }

  remove(item: T): void {
    if (item.readyIndex < 0) return;
    const heap = (item.readyBucket as Bucket<T>).heap;
    const index = item.readyIndex;
    const last = heap.pop()!;
    if (last !== item) {
      heap[index] = last;
      last.readyIndex = index;
      this.siftDown(heap, index);
      this.siftUp(heap, last.readyIndex);
    }
    item.readyIndex = -1;
    item.readyBucket = undefined;
    this.count--;
  }

  /** The best ready task `worker` may run, without taking it. */
  peekFor(worker: WorkerMatch): T | undefined {
    return this.bestBucket(this.bucketsFor(worker))?.heap[0];
  }

  /** Takes up to `max` tasks `worker` may run, best first. */
  takeFor(worker: WorkerMatch, max: number): T[] {
    const taken: T[] = [];
    if (this.count === 0 || max <= 0) return taken;
    const buckets = this.bucketsFor(worker);
    while (taken.length < max) {
      const bucket = this.bestBucket(buckets);
      if (!bucket) break;
      const item = bucket.heap[0]!;
      this.remove(item);
      taken.push(item);
    }
    return taken;
  }

  /** Every queued item in no particular order (for tests and checks). */
  *items(): Iterable<T> {
    for (const bucket of this.buckets.values()) yield* bucket.heap;
  }

  private bestBucket(buckets: Bucket<T>[]): Bucket<T> | undefined {
    let best: Bucket<T> | undefined;
    for (const bucket of buckets) {
      const head = bucket.heap[0];
      if (head && (!best || before(head, best.heap[0]!))) best = bucket;
    }
    return best;
  }

  private bucketsFor(worker: WorkerMatch): Bucket<T>[] {
    const key = `${worker.kinds.join(',')}|${worker.labels.join(',')}`;
    let list = this.matching.get(key);
    if (!list) {
      const labels = new Set(worker.labels);
      list = [...this.buckets.values()].filter(
        (b) => worker.kinds.includes(b.kind) && b.labels.every((l) => labels.has(l)),
      );
      this.matching.set(key, list);
    }
    return list;
  }

  private bucketFor(kind: string, labels: readonly string[]): Bucket<T> {
    // Kinds and label lists are interned by the table, so consecutive tasks of one kind hit this.
    if (kind === this.lastKind && labels === this.lastLabels && this.lastBucket) return this.lastBucket;
    const bucket = this.lookupBucket(kind, labels);
    this.lastKind = kind;
    this.lastLabels = labels;
    this.lastBucket = bucket;
    return bucket;
  }

  private lookupBucket(kind: string, labels: readonly string[]): Bucket<T> {
    const sorted = labels.length > 1 ? [...new Set(labels)].sort() : labels;
    const key = `${kind}|${sorted.join(',')}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new Bucket<T>(kind, sorted);
      this.buckets.set(key, bucket);
      this.matching.clear();
    }
    return bucket;
  }

  private siftUp(heap: T[], index: number): void {
    const item = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!before(item, parent)) break;
      heap[index] = parent;
      parent.readyIndex = index;
      index = parentIndex;
    }
    heap[index] = item;
    item.readyIndex = index;
  }

  private siftDown(heap: T[], index: number): void {
    const item = heap[index]!;
    const n = heap.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, item)) break;
      heap[index] = heap[child]!;
      heap[index]!.readyIndex = index;
      index = child;
    }
    heap[index] = item;
    item.readyIndex = index;
  }
}
