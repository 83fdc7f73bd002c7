/** Toasts plus the last action and last error, shown in the status strip. A store without React. */

export type ToastKind = 'info' | 'success' | 'warning' | 'error';

export interface Toast {
  id: number;
  kind: ToastKind;
  title: string;
  text?: string;
  time: number;
}

export interface NoticeState {
  toasts: Toast[];
  lastAction: { text: string; time: number } | undefined;
  lastError: { text: string; time: number } | undefined;
}

const MAX_TOASTS = 5;

export class Notices {
  private state: NoticeState = { toasts: [], lastAction: undefined, lastError: undefined };
  private readonly listeners = new Set<() => void>();
  private nextId = 1;

  constructor(private readonly now: () => number = () => Date.now()) {}

  getSnapshot = (): NoticeState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  toast(kind: ToastKind, title: string, text?: string): number {
    const id = this.nextId++;
    const toast: Toast = { id, kind, title, time: this.now(), ...(text ? { text } : {}) };
    this.set({ toasts: [...this.state.toasts, toast].slice(-MAX_TOASTS) });
    return id;
  }

  dismissToast(id: number): void {
    this.set({ toasts: this.state.toasts.filter((t) => t.id !== id) });
  }

  /** Records what just happened, e.g. "Saved 2 settings". */
  action(text: string): void {
    this.set({ lastAction: { text, time: this.now() } });
  }

  /** Records the last failure, e.g. "maxTurns: Must be at most 200". */
  error(text: string): void {
    this.set({ lastError: { text, time: this.now() } });
  }

  dismissStrip(): void {
    this.set({ lastAction: undefined, lastError: undefined });
  }

  private set(patch: Partial<NoticeState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of [...this.listeners]) listener();
  }
}
