import type { TaskCost } from '@jousting/contracts';
import { requireNumber } from './check.js';

/** Spend limits in USD; 0 means unlimited (no warning, never exceeded). */
export interface BudgetLimits {
  globalUsd: number;
  perWorkerUsd: number;
}

export type BudgetStatus = 'ok' | 'warning' | 'exceeded';

export interface BudgetSignal {
  kind: 'warning' | 'exceeded' | 'cleared';
  scope: 'global' | 'worker';
  workerId?: string;
  spentUsd: number;
  budgetUsd: number;
  percent: number;
}

export interface GlobalBudgetState {
  spentUsd: number;
  budgetUsd: number;
  inputTokens: number;
  outputTokens: number;
  /** Spend as a percentage of the budget, two decimals; 0 when the budget is unlimited. */
  percent: number;
  status: BudgetStatus;
}

export interface WorkerBudgetState extends GlobalBudgetState {
  workerId: string;
}

export interface BudgetState {
  global: GlobalBudgetState;
  /** Every worker with recorded spend, by id. */
  workers: WorkerBudgetState[];
}

export interface RestoredCost extends TaskCost {
  workerId: string;
}

export const BUDGET_WARNING_PERCENT = 80;

interface Account {
  /** Whole micro-dollars, so sums and comparisons are exact. */
  spentMicros: number;
  inputTokens: number;
  outputTokens: number;
  status: BudgetStatus;
}

const MICROS_PER_USD = 1_000_000;

/**
 * Spend per worker and in total against the global and per-worker budgets. Each account's status
 * moves ok → warning (80 %) → exceeded (100 %) and a signal is returned only on a change, so each
 * is sent once; a record that jumps straight past 100 % signals only 'exceeded'. Reconfiguring
 * may move a status down: that signals 'cleared' (then 'warning' if the spend is still above 80 %
 * of the new budget) and re-arms the later signals. A budget of 0 is unlimited: the settings
 * allow 0, and a coordinator that stops dispatching for good on the first cent is never wanted.
 */
export class BudgetTracker {
  private limits: { globalMicros: number; perWorkerMicros: number };
  private global: Account = emptyAccount();
  private readonly workers = new Map<string, Account>();

  /** Unlimited until configured. */
  constructor(limits: BudgetLimits = { globalUsd: 0, perWorkerUsd: 0 }) {
    this.limits = toMicroLimits(limits);
  }

  /** Applies new budgets; returns the signals of every account whose status changed. */
  configure(limits: BudgetLimits): BudgetSignal[] {
    this.limits = toMicroLimits(limits);
    const signals = this.settle(this.global, 'global');
    for (const [workerId, account] of this.sortedWorkers()) {
      signals.push(...this.settle(account, 'worker', workerId));
    }
    return signals;
  }

  /**
   * Replaces all recorded spend with `entries` (e.g. every attempt's cost, read back at start)
   * and sets the statuses they amount to without signalling: those were sent before the restart.
   */
  restore(entries: Iterable<RestoredCost>): void {
    const restored = [...entries];
    for (const [i, entry] of restored.entries()) checkCost(entry, `entries.${i}`);
    this.global = emptyAccount();
    this.workers.clear();
    for (const entry of restored) {
      const account = this.account(entry.workerId);
      add(account, entry);
      add(this.global, entry);
    }
    this.global.status = this.statusOf(this.global, this.limits.globalMicros);
    for (const account of this.workers.values()) {
      account.status = this.statusOf(account, this.limits.perWorkerMicros);
    }
  }

  /** Adds one attempt's cost; returns the worker's signals, then the global ones. */
  record(workerId: string, cost: TaskCost): BudgetSignal[] {
    checkCost(cost, 'cost');
    const account = this.account(workerId);
    add(account, cost);
    add(this.global, cost);
    return [...this.settle(account, 'worker', workerId), ...this.settle(this.global, 'global')];
  }

  /** False once the worker has spent its budget: it gets no more tasks. */
  workerAllowed(workerId: string): boolean {
    return this.workers.get(workerId)?.status !== 'exceeded';
  }

  /** True once the global budget is spent: the coordinator drains. */
  globalExceeded(): boolean {
    return this.global.status === 'exceeded';
  }

  state(): BudgetState {
    return {
      global: this.view(this.global, this.limits.globalMicros),
      workers: this.sortedWorkers().map(([workerId, account]) => ({
        workerId,
        ...this.view(account, this.limits.perWorkerMicros),
      })),
    };
  }

  private account(workerId: string): Account {
    let account = this.workers.get(workerId);
    if (!account) {
      account = emptyAccount();
      this.workers.set(workerId, account);
    }
    return account;
  }

  private sortedWorkers(): Array<[string, Account]> {
    return [...this.workers.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  private statusOf(account: Account, budgetMicros: number): BudgetStatus {
    if (budgetMicros === 0) return 'ok';
    if (account.spentMicros >= budgetMicros) return 'exceeded';
    // Integer micro-dollars: 5·spent ≥ 4·budget is exactly "spent ≥ 80 % of budget".
    if (account.spentMicros * 5 >= budgetMicros * 4) return 'warning';
    return 'ok';
  }

  private settle(account: Account, scope: 'global' | 'worker', workerId?: string): BudgetSignal[] {
    const budgetMicros = scope === 'global' ? this.limits.globalMicros : this.limits.perWorkerMicros;
    const before = account.status;
    const after = this.statusOf(account, budgetMicros);
    if (after === before) return [];
    account.status = after;
    const signal = (kind: BudgetSignal['kind']): BudgetSignal => {
      const { spentUsd, budgetUsd, percent } = this.view(account, budgetMicros);
      return workerId === undefined
        ? { kind, scope, spentUsd, budgetUsd, percent }
        : { kind, scope, workerId, spentUsd, budgetUsd, percent };
    };
    if (RANK[after] > RANK[before]) return [signal(after as 'warning' | 'exceeded')];
    return after === 'warning' ? [signal('cleared'), signal('warning')] : [signal('cleared')];
  }

  private view(account: Account, budgetMicros: number): GlobalBudgetState {
    return {
      spentUsd: account.spentMicros / MICROS_PER_USD,
      budgetUsd: budgetMicros / MICROS_PER_USD,
      inputTokens: account.inputTokens,
      outputTokens: account.outputTokens,
      percent: budgetMicros === 0 ? 0 : Math.round((account.spentMicros * 10_000) / budgetMicros) / 100,
      status: account.status,
    };
  }
}

const RANK: Record<BudgetStatus, number> = { ok: 0, warning: 1, exceeded: 2 };

function emptyAccount(): Account {
  return { spentMicros: 0, inputTokens: 0, outputTokens: 0, status: 'ok' };
}

function add(account: Account, cost: TaskCost): void {
  account.spentMicros += toMicros(cost.usd);
  account.inputTokens += cost.inputTokens;
  account.outputTokens += cost.outputTokens;
}

function toMicros(usd: number): number {
  return Math.round(usd * MICROS_PER_USD);
}

function toMicroLimits(limits: BudgetLimits): { globalMicros: number; perWorkerMicros: number } {
  requireNumber('globalUsd', limits.globalUsd, 0);
  requireNumber('perWorkerUsd', limits.perWorkerUsd, 0);
  return { globalMicros: toMicros(limits.globalUsd), perWorkerMicros: toMicros(limits.perWorkerUsd) };
}

function checkCost(cost: TaskCost, field: string): void {
  requireNumber(`${field}.usd`, cost.usd, 0);
  requireNumber(`${field}.inputTokens`, cost.inputTokens, 0);
  requireNumber(`${field}.outputTokens`, cost.outputTokens, 0);
}
