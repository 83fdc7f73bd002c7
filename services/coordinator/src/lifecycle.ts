import type { CoordLifecycle } from '@jousting/contracts';
import { z } from 'zod';

/** Why the coordinator is not running: an operator said so, or the global budget ran out. */
export type LifecycleCause = 'operator' | 'budget';

export const LifecycleRecord = z.object({
  state: z.enum(['running', 'draining', 'paused']),
  reason: z.string().optional(),
  cause: z.enum(['operator', 'budget']).optional(),
  since: z.number(),
  deadline: z.number().optional(),
  actor: z.string(),
});
export type LifecycleRecord = z.infer<typeof LifecycleRecord>;

/** What a transition asks the coordinator to announce. */
export type LifecycleEvent =
  | { type: 'coord.started'; actor: string }
  | { type: 'coord.draining'; actor: string; reason: string; deadline?: number }
  | { type: 'coord.paused'; actor: string; reason: string };

/**
 * running → draining (no new dispatch; paused once nothing runs, or at the deadline) → paused →
 * running. Pure: the coordinator persists `record` and publishes the events it returns.
 */
export class Lifecycle {
  record: LifecycleRecord;

  constructor(
    initial: LifecycleRecord | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.record = initial ?? { state: 'running', since: now(), actor: 'system' };
  }

  get state(): CoordLifecycle {
    return this.record.state;
  }

  get dispatching(): boolean {
    return this.record.state === 'running';
  }

  drain(
    actor: string,
    reason: string,
    timeoutMs?: number,
    cause: LifecycleCause = 'operator',
  ): LifecycleEvent[] {
    if (this.record.state !== 'running') {
      // A budget drain must not take over an operator's pause, but an operator's drain with a new
      // deadline replaces an earlier drain's.
      if (this.record.state === 'draining' && cause === 'operator' && timeoutMs !== undefined) {
        this.record = { ...this.record, deadline: this.now() + timeoutMs, cause, reason, actor };
        return [{ type: 'coord.draining', actor, reason, deadline: this.record.deadline! }];
      }
      return [];
    }
    const deadline = timeoutMs === undefined ? undefined : this.now() + timeoutMs;
    this.record = {
      state: 'draining',
      reason,
      cause,
      since: this.now(),
      actor,
      ...(deadline === undefined ? {} : { deadline }),
    };
    return [{ type: 'coord.draining', actor, reason, ...(deadline === undefined ? {} : { deadline }) }];
  }

  pause(actor: string, reason: string, cause: LifecycleCause = 'operator'): LifecycleEvent[] {
    if (this.record.state === 'paused') return [];
    this.record = { state: 'paused', reason, cause, since: this.now(), actor };
    return [{ type: 'coord.paused', actor, reason }];
  }

  resume(actor: string): LifecycleEvent[] {
    if (this.record.state === 'running') return [];
    this.record = { state: 'running', since: this.now(), actor };
    return [{ type: 'coord.started', actor }];
  }

  /**
   * Called after changes and on every tick: a drain ends when nothing runs; at its deadline the
   * caller aborts what still runs (`overdue`) and the coordinator is paused.
   */
  settle(liveTasks: number): { events: LifecycleEvent[]; overdue: boolean } {
    if (this.record.state !== 'draining') return { events: [], overdue: false };
    const overdue = this.record.deadline !== undefined && this.now() >= this.record.deadline && liveTasks > 0;
    if (liveTasks > 0 && !overdue) return { events: [], overdue: false };
    const { actor, cause } = this.record;
    const reason = overdue ? 'drain timed out; running tasks were put back' : 'drained: nothing is running';
    this.record = { state: 'paused', reason, since: this.now(), actor, ...(cause ? { cause } : {}) };
    return { events: [{ type: 'coord.paused', actor, reason }], overdue };
  }

  /** Resumes by itself only from a stop the budget caused, once the budget allows again. */
  budgetCleared(): LifecycleEvent[] {
    return this.record.cause === 'budget' ? this.resume('system') : [];
  }
}
