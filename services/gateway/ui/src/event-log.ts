import type { LiveEvent } from './live';
/** The most recent events, newest first, capped; a tiny store React reads with useSyncExternalStore. */
export class EventLog {
  private items: LiveEvent[] = [];
  private readonly listeners = new Set<() => void>();
  private total = 0;

  constructor(readonly capacity = 500) {}

  add(event: LiveEvent): void {
    this.total++;
    this.items = [event, ...this.items].slice(0, this.capacity);
    this.emit();
  }

  clear(): void {
    this.items = [];
    this.emit();
  }

  /** Newest first. The same array until something changes. */
  getSnapshot = (): LiveEvent[] => this.items;

  /** Events received since the page loaded, including those the cap dropped. */
  get received(): number {
    return this.total;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  private emit(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** Who caused an event, when its data says (`data.actor`). */
export function eventActor(event: LiveEvent['event']): string | undefined {
  const data = event.data;
  if (typeof data === 'object' && data !== null && 'actor' in data && typeof data.actor === 'string') {
    return data.actor;
  }
  return undefined;
}
