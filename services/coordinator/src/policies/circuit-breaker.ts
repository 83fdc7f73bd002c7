import type { ErrorClass } from '@jousting/contracts';
import { requireNumber } from './check.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

/** A change the coordinator publishes: to 'open' → coord.circuit-opened, to 'closed' → coord.circuit-closed. */
export interface CircuitTransition {
  workerId: string;
  from: CircuitState;
  to: CircuitState;
  reason: 'consecutive-failures' | 'half-open-failure' | 'success';
  consecutiveFailures: number;
  /** When an opened circuit turns half-open. */
  retryAt?: number;
}

export interface CircuitView {
  workerId: string;
  state: CircuitState;
  consecutiveFailures: number;
  /** Set while open or half-open. */
  openedAt?: number;
  retryAt?: number;
}

export interface CircuitBreakerOptions {
  /** Consecutive failed attempts that open a worker's circuit (default 3). */
  failureThreshold: number;
  /** How long an open circuit skips the worker before a trial (default 30 s). */
  coolDownMs: number;
}

export const DEFAULT_CIRCUIT_BREAKER: Readonly<CircuitBreakerOptions> = Object.freeze({
  failureThreshold: 3,
  coolDownMs: 30_000,
});

interface Circuit {
  state: CircuitState;
  consecutiveFailures: number;
  openedAt?: number;
  retryAt?: number;
  /** While half-open, a trial dispatch is out until then: no second one meanwhile. */
  trialUntil?: number;
}

/**
 * One circuit per worker. Closed: dispatch freely. After `failureThreshold` consecutive failed
 * attempts it opens: the worker is skipped for `coolDownMs`, then it is half-open and may take a
 * trial; the trial's success closes the circuit, its failure re-opens it with a fresh cool-down.
 * Fatal input errors say nothing about the worker, so they neither count nor reset the streak.
 * Open → half-open happens by time alone, computed when the circuit is read, so it has no
 * transition; every other change returns one.
 */
export class CircuitBreakers {
  private readonly opts: CircuitBreakerOptions;
  private readonly circuits = new Map<string, Circuit>();

  constructor(
    options: Partial<CircuitBreakerOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.opts = { ...DEFAULT_CIRCUIT_BREAKER, ...options };
    requireNumber('failureThreshold', this.opts.failureThreshold, 1);
    requireNumber('coolDownMs', this.opts.coolDownMs, 0);
  }

  /** A successful attempt: resets the streak and closes an open or half-open circuit. */
  recordSuccess(workerId: string): CircuitTransition | undefined {
    const circuit = this.circuit(workerId);
    circuit.consecutiveFailures = 0;
    if (circuit.state === 'closed') return undefined;
    const from = circuit.state;
    this.circuits.set(workerId, { state: 'closed', consecutiveFailures: 0 });
    return { workerId, from, to: 'closed', reason: 'success', consecutiveFailures: 0 };
  }

  /** A failed attempt; `inputError` marks a fatal failure caused by the task's input, which is ignored. */
  recordFailure(
    workerId: string,
    errorClass: ErrorClass,
    opts: { inputError?: boolean } = {},
  ): CircuitTransition | undefined {
    if (errorClass === 'fatal' && opts.inputError) return undefined;
    const circuit = this.circuit(workerId);
    circuit.consecutiveFailures += 1;
    if (circuit.state === 'half-open') return this.open(workerId, circuit, 'half-open-failure');
    if (circuit.state === 'closed' && circuit.consecutiveFailures >= this.opts.failureThreshold) {
      return this.open(workerId, circuit, 'consecutive-failures');
    }
    // Late failures of attempts dispatched before the circuit opened do not extend the cool-down.
    return undefined;
  }

  /** Whether the worker may get a task now: closed, or half-open with no trial out. */
  allows(workerId: string): boolean {
    const circuit = this.circuits.get(workerId);
    if (!circuit) return true;
    this.refresh(circuit);
    if (circuit.state === 'closed') return true;
    if (circuit.state === 'open') return false;
    return circuit.trialUntil === undefined || this.now() >= circuit.trialUntil;
  }

  /**
   * Optional: marks a dispatch to a half-open worker as its trial, so `allows` says no until the
   * trial's result is recorded (or a cool-down passes, should the result never come).
   */
  noteDispatch(workerId: string): void {
    const circuit = this.circuits.get(workerId);
    if (!circuit) return;
    this.refresh(circuit);
    if (circuit.state === 'half-open') circuit.trialUntil = this.now() + this.opts.coolDownMs;
  }

  /** Whether the worker's circuit is half-open (its next dispatch is a single trial). */
  isHalfOpen(workerId: string): boolean {
    const circuit = this.circuits.get(workerId);
    if (!circuit || circuit.state === 'closed') return false;
    this.refresh(circuit);
    return circuit.state === 'half-open';
  }

  /** Drops a worker's circuit (the worker left). */
  forget(workerId: string): void {
    this.circuits.delete(workerId);
  }

  /** Every worker with a recorded attempt, by id, including closed ones. */
  state(): CircuitView[] {
    return [...this.circuits.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([workerId, circuit]) => {
        this.refresh(circuit);
        const view: CircuitView = {
          workerId,
          state: circuit.state,
          consecutiveFailures: circuit.consecutiveFailures,
        };
        if (circuit.openedAt !== undefined) view.openedAt = circuit.openedAt;
        if (circuit.retryAt !== undefined) view.retryAt = circuit.retryAt;
        return view;
      });
  }

  private circuit(workerId: string): Circuit {
    let circuit = this.circuits.get(workerId);
    if (!circuit) {
      circuit = { state: 'closed', consecutiveFailures: 0 };
      this.circuits.set(workerId, circuit);
    }
    this.refresh(circuit);
    return circuit;
  }

  private refresh(circuit: Circuit): void {
    if (circuit.state === 'open' && circuit.retryAt !== undefined && this.now() >= circuit.retryAt) {
      circuit.state = 'half-open';
    }
  }

  private open(workerId: string, circuit: Circuit, reason: CircuitTransition['reason']): CircuitTransition {
    const from = circuit.state;
    const at = this.now();
    circuit.state = 'open';
    circuit.openedAt = at;
    circuit.retryAt = at + this.opts.coolDownMs;
    circuit.trialUntil = undefined;
    return {
      workerId,
      from,
      to: 'open',
      reason,
      consecutiveFailures: circuit.consecutiveFailures,
      retryAt: circuit.retryAt,
    };
  }
}
