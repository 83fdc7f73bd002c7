/**
 * Lease bookkeeping for claimed attempts: each assigned or running attempt must be reported on
 * within `leaseMs`, or it is taken back. A min-heap on the deadline makes finding the expired
 * ones O(expired · log n); a renewal only moves its lease down the heap. The clock is injected.
 */
export interface Lease {
  readonly taskId: string;
  readonly attempt: number;
  readonly workerId: string;
  deadline: number;
  index: number;
}

export class LeaseTable {
  private readonly byTask = new Map<string, Lease>();
  private readonly heap: Lease[] = [];

  constructor(
    readonly leaseMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.byTask.size;
  }

  get(taskId: string): Lease | undefined {
    return this.byTask.get(taskId);
  }

  /** Starts (or restarts) the lease of an attempt. */
  grant(taskId: string, attempt: number, workerId: string): Lease {
    this.release(taskId);
    const lease: Lease = {
      taskId,
      attempt,
      workerId,
      deadline: this.now() + this.leaseMs,
      index: this.heap.length,
    };
    this.byTask.set(taskId, lease);
    this.heap.push(lease);
    this.siftUp(lease.index);
    return lease;
  }

  /** Extends the lease of this attempt; false when it holds none. */
  renew(taskId: string, attempt: number): boolean {
    const lease = this.byTask.get(taskId);
    if (!lease || lease.attempt !== attempt) return false;
    lease.deadline = this.now() + this.leaseMs;
    this.siftDown(lease.index);
    return true;
  }

  release(taskId: string): void {
    const lease = this.byTask.get(taskId);
    if (!lease) return;
    this.byTask.delete(taskId);
    const last = this.heap.pop()!;
    if (last !== lease) {
      this.heap[lease.index] = last;
      last.index = lease.index;
      this.siftDown(last.index);
      this.siftUp(last.index);
    }
  }

  /** Removes and returns every lease whose deadline has passed. */
  takeExpired(): Lease[] {
    const now = this.now();
    const expired: Lease[] = [];
    while (this.heap.length > 0 && this.heap[0]!.deadline <= now) {
      const lease = this.heap[0]!;
      this.release(lease.taskId);
      expired.push(lease);
    }
    return expired;
  }

  private before(a: Lease, b: Lease): boolean {
    return a.deadline < b.deadline;
  }

  private siftUp(index: number): void {
    const lease = this.heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = this.heap[parentIndex]!;
      if (!this.before(lease, parent)) break;
      this.heap[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    this.heap[index] = lease;
    lease.index = index;
  }

  private siftDown(index: number): void {
    const lease = this.heap[index]!;
    const n = this.heap.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.before(this.heap[right]!, this.heap[left]!) ? right : left;
      if (!this.before(this.heap[child]!, lease)) break;
      this.heap[index] = this.heap[child]!;
      this.heap[index]!.index = index;
      index = child;
    }
    this.heap[index] = lease;
    lease.index = index;
  }
}
