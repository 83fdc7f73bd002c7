import { describe, expect, it } from 'vitest';
import { BudgetTracker } from '../../src/policies/budgets.js';

const usd = (amount: number) => ({ usd: amount, inputTokens: 100, outputTokens: 10 });

describe('BudgetTracker per worker', () => {
  it('warns once at 80 % and signals exceeded once at 100 %', () => {
    const budgets = new BudgetTracker({ globalUsd: 0, perWorkerUsd: 10 });
    expect(budgets.record('w1', usd(7.99))).toEqual([]);
    expect(budgets.record('w1', usd(0.01))).toEqual([
      { kind: 'warning', scope: 'worker', workerId: 'w1', spentUsd: 8, budgetUsd: 10, percent: 80 },
    ]);
    expect(budgets.record('w1', usd(1))).toEqual([]);
    expect(budgets.workerAllowed('w1')).toBe(true);
    expect(budgets.record('w1', usd(1))).toEqual([
      { kind: 'exceeded', scope: 'worker', workerId: 'w1', spentUsd: 10, budgetUsd: 10, percent: 100 },
    ]);
    expect(budgets.record('w1', usd(5))).toEqual([]);
    expect(budgets.workerAllowed('w1')).toBe(false);
    expect(budgets.workerAllowed('w2')).toBe(true);
    expect(budgets.globalExceeded()).toBe(false);
  });

  it('adds cents exactly, with no floating-point shortfall at the boundary', () => {
    const budgets = new BudgetTracker({ globalUsd: 0, perWorkerUsd: 0.3 });
    budgets.record('w1', usd(0.1));
    budgets.record('w1', usd(0.1));
    expect(budgets.record('w1', usd(0.1)).map((s) => s.kind)).toEqual(['exceeded']);
    expect(budgets.state().workers[0]?.spentUsd).toBe(0.3);
  });

  it('signals only exceeded when one cost jumps past both thresholds', () => {
    const budgets = new BudgetTracker({ globalUsd: 0, perWorkerUsd: 1 });
    expect(budgets.record('w1', usd(1.5)).map((s) => s.kind)).toEqual(['exceeded']);
    expect(budgets.state().workers[0]?.status).toBe('exceeded');
  });

  it('keeps each worker on its own budget', () => {
    const budgets = new BudgetTracker({ globalUsd: 0, perWorkerUsd: 2 });
    budgets.record('w1', usd(2));
    budgets.record('w2', usd(1));
    expect(budgets.workerAllowed('w1')).toBe(false);
    expect(budgets.workerAllowed('w2')).toBe(true);
    expect(budgets.state().workers.map((w) => [w.workerId, w.status, w.percent])).toEqual([
      ['w1', 'exceeded', 100],
      ['w2', 'ok', 50],
    ]);
  });
});

describe('BudgetTracker globally', () => {
  it('warns and exceeds across workers, after the worker signals', () => {
    const budgets = new BudgetTracker({ globalUsd: 10, perWorkerUsd: 6 });
    budgets.record('w1', usd(5));
    expect(budgets.record('w2', usd(3))).toEqual([
      { kind: 'warning', scope: 'global', spentUsd: 8, budgetUsd: 10, percent: 80 },
    ]);
    expect(budgets.record('w1', usd(2))).toEqual([
      { kind: 'exceeded', scope: 'worker', workerId: 'w1', spentUsd: 7, budgetUsd: 6, percent: 116.67 },
      { kind: 'exceeded', scope: 'global', spentUsd: 10, budgetUsd: 10, percent: 100 },
    ]);
    expect(budgets.globalExceeded()).toBe(true);
    expect(budgets.record('w2', usd(1))).toEqual([]);
  });

  it('reports spend and tokens per worker and in total', () => {
    const budgets = new BudgetTracker({ globalUsd: 100, perWorkerUsd: 10 });
    budgets.record('w2', { usd: 1.25, inputTokens: 1000, outputTokens: 200 });
    budgets.record('w1', { usd: 0.5, inputTokens: 10, outputTokens: 5 });
    budgets.record('w2', { usd: 0.25, inputTokens: 1, outputTokens: 2 });
    expect(budgets.state()).toEqual({
      global: {
        spentUsd: 2,
        budgetUsd: 100,
        inputTokens: 1011,
        outputTokens: 207,
        percent: 2,
        status: 'ok',
      },
      workers: [
        {
          workerId: 'w1',
          spentUsd: 0.5,
          budgetUsd: 10,
          inputTokens: 10,
          outputTokens: 5,
          percent: 5,
          status: 'ok',
        },
        {
          workerId: 'w2',
          spentUsd: 1.5,
          budgetUsd: 10,
          inputTokens: 1001,
          outputTokens: 202,
          percent: 15,
          status: 'ok',
        },
      ],
    });
  });

  it('treats a budget of 0 as unlimited', () => {
    const budgets = new BudgetTracker({ globalUsd: 0, perWorkerUsd: 0 });
    expect(budgets.record('w1', usd(999))).toEqual([]);
    expect(budgets.workerAllowed('w1')).toBe(true);
    expect(budgets.globalExceeded()).toBe(false);
    expect(budgets.state().global).toMatchObject({ percent: 0, status: 'ok', budgetUsd: 0 });
    expect(new BudgetTracker().record('w1', usd(1))).toEqual([]);
  });
});

describe('BudgetTracker reconfiguration', () => {
  it('clears an exceeded budget raised above the spend and re-arms both signals', () => {
    const budgets = new BudgetTracker({ globalUsd: 10, perWorkerUsd: 0 });
    budgets.record('w1', usd(10));
    expect(budgets.globalExceeded()).toBe(true);
    expect(budgets.configure({ globalUsd: 20, perWorkerUsd: 0 })).toEqual([
      { kind: 'cleared', scope: 'global', spentUsd: 10, budgetUsd: 20, percent: 50 },
    ]);
    expect(budgets.globalExceeded()).toBe(false);
    expect(budgets.record('w1', usd(6)).map((s) => s.kind)).toEqual(['warning']);
    expect(budgets.record('w1', usd(4)).map((s) => s.kind)).toEqual(['exceeded']);
  });

  it('clears then warns when the raised budget still leaves the spend above 80 %', () => {
    const budgets = new BudgetTracker({ globalUsd: 0, perWorkerUsd: 5 });
    budgets.record('w1', usd(5));
    expect(budgets.configure({ globalUsd: 0, perWorkerUsd: 6 })).toEqual([
      { kind: 'cleared', scope: 'worker', workerId: 'w1', spentUsd: 5, budgetUsd: 6, percent: 83.33 },
      { kind: 'warning', scope: 'worker', workerId: 'w1', spentUsd: 5, budgetUsd: 6, percent: 83.33 },
    ]);
    expect(budgets.workerAllowed('w1')).toBe(true);
    expect(budgets.record('w1', usd(0.5))).toEqual([]);
    expect(budgets.record('w1', usd(0.5)).map((s) => s.kind)).toEqual(['exceeded']);
  });

  it('clears a warning when the budget is raised, and signals when it is lowered below the spend', () => {
    const budgets = new BudgetTracker({ globalUsd: 10, perWorkerUsd: 0 });
    budgets.record('w1', usd(9));
    expect(budgets.configure({ globalUsd: 100, perWorkerUsd: 0 }).map((s) => s.kind)).toEqual(['cleared']);
    expect(budgets.configure({ globalUsd: 5, perWorkerUsd: 0 })).toEqual([
      { kind: 'exceeded', scope: 'global', spentUsd: 9, budgetUsd: 5, percent: 180 },
    ]);
    expect(budgets.configure({ globalUsd: 5, perWorkerUsd: 0 })).toEqual([]);
    expect(budgets.configure({ globalUsd: 0, perWorkerUsd: 0 }).map((s) => s.kind)).toEqual(['cleared']);
    expect(budgets.globalExceeded()).toBe(false);
  });

  it('re-evaluates every worker when the per-worker budget changes', () => {
    const budgets = new BudgetTracker({ globalUsd: 0, perWorkerUsd: 10 });
    budgets.record('w2', usd(3));
    budgets.record('w1', usd(1));
    expect(budgets.configure({ globalUsd: 0, perWorkerUsd: 2 })).toEqual([
      { kind: 'exceeded', scope: 'worker', workerId: 'w2', spentUsd: 3, budgetUsd: 2, percent: 150 },
    ]);
    expect(budgets.configure({ globalUsd: 0, perWorkerUsd: 1.2 }).map((s) => [s.workerId, s.kind])).toEqual([
      ['w1', 'warning'],
    ]);
  });

  it('rejects a negative budget naming the field, keeping the old budgets', () => {
    const budgets = new BudgetTracker({ globalUsd: 10, perWorkerUsd: 1 });
    expect(() => budgets.configure({ globalUsd: -1, perWorkerUsd: 1 })).toThrow(/globalUsd/);
    expect(budgets.state().global.budgetUsd).toBe(10);
    expect(() => budgets.record('w1', { usd: -0.5, inputTokens: 0, outputTokens: 0 })).toThrow(/cost\.usd/);
    expect(budgets.state().workers).toEqual([]);
  });
});

describe('BudgetTracker.restore', () => {
  it('rebuilds spend from recorded attempt costs without signalling, and signals nothing twice', () => {
    const budgets = new BudgetTracker({ globalUsd: 10, perWorkerUsd: 5 });
    budgets.restore([
      { workerId: 'w1', usd: 3, inputTokens: 10, outputTokens: 1 },
      { workerId: 'w1', usd: 2, inputTokens: 10, outputTokens: 1 },
      { workerId: 'w2', usd: 3.5, inputTokens: 10, outputTokens: 1 },
    ]);
    const state = budgets.state();
    expect(state.global).toMatchObject({
      spentUsd: 8.5,
      status: 'warning',
      inputTokens: 30,
      outputTokens: 3,
    });
    expect(state.workers.map((w) => [w.workerId, w.spentUsd, w.status])).toEqual([
      ['w1', 5, 'exceeded'],
      ['w2', 3.5, 'ok'],
    ]);
    expect(budgets.workerAllowed('w1')).toBe(false);
    expect(budgets.record('w2', usd(0.5))).toEqual([
      { kind: 'warning', scope: 'worker', workerId: 'w2', spentUsd: 4, budgetUsd: 5, percent: 80 },
    ]);
    expect(budgets.record('w1', usd(0.5))).toEqual([]);
    expect(budgets.state().global).toMatchObject({ spentUsd: 9.5, status: 'warning' });
  });

  it('replaces whatever was recorded before', () => {
    const budgets = new BudgetTracker({ globalUsd: 10, perWorkerUsd: 5 });
    budgets.record('old', usd(9));
    budgets.restore([{ workerId: 'w1', usd: 1, inputTokens: 0, outputTokens: 0 }]);
    expect(budgets.state().global.spentUsd).toBe(1);
    expect(budgets.state().workers.map((w) => w.workerId)).toEqual(['w1']);
    expect(budgets.record('w1', usd(7)).map((s) => [s.scope, s.kind])).toEqual([
      ['worker', 'exceeded'],
      ['global', 'warning'],
    ]);
  });

  it('rejects a bad entry naming it, and keeps the previous spend', () => {
    const budgets = new BudgetTracker({ globalUsd: 10, perWorkerUsd: 5 });
    budgets.record('w1', usd(2));
    expect(() =>
      budgets.restore([
        { workerId: 'w1', usd: 1, inputTokens: 0, outputTokens: 0 },
        { workerId: 'w2', usd: Number.NaN, inputTokens: 0, outputTokens: 0 },
      ]),
    ).toThrow(/entries\.1\.usd/);
    expect(budgets.state().global.spentUsd).toBe(2);
  });
});
