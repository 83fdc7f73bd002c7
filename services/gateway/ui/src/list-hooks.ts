import { useCallback, useEffect, useRef, useState } from 'react';
import { errorText } from './api';
import { useApp, useLiveEvents } from './context';
import type { LiveEvent } from './live';
import { systemClock, Throttle } from './throttle';

/**
 * Reads what a page lists. Only the newest read counts: an older answer that arrives late is dropped,
 * so a slow first read cannot overwrite a newer one. `read` undefined (no access) reads nothing.
 */
export function useLatestRead<T>(read: (() => Promise<T>) | undefined, onAnswer: (answer: T) => void) {
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const asked = useRef(0);
  const answered = useRef(onAnswer);
  answered.current = onAnswer;
  const fetch = useCallback(async () => {
    if (!read) return;
    const ask = ++asked.current;
    setLoading(true);
    try {
      const answer = await read();
      if (ask !== asked.current) return;
      answered.current(answer);
      setError(undefined);
    } catch (err) {
      if (ask === asked.current) setError(errorText(err));
    } finally {
      if (ask === asked.current) setLoading(false);
    }
  }, [read]);
  return { fetch, error, loading };
}

/** The time relative times are shown against: ticks every `everyMs`; `touch` sets it to now. */
export function useNow(everyMs: number): [number, () => void] {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(tick);
  }, [everyMs]);
  const touch = useCallback(() => setNow(Date.now()), []);
  return [now, touch];
}

/**
 * Re-reads on the live events `matches` picks, and after a gap in the live stream (events may have
 * been missed), at most once every `ms`.
 */
export function useLiveRefetch(
  refetch: () => void,
  matches: (event: LiveEvent['event']) => boolean,
  ms: number,
) {
  const { live } = useApp();
  const latest = useRef(refetch);
  latest.current = refetch;
  const [throttle] = useState(() => new Throttle(systemClock, ms, () => latest.current()));
  useEffect(() => () => throttle.cancel(), [throttle]);
  useLiveEvents((e) => {
    if (matches(e.event)) throttle.schedule();
  });
  useEffect(
    () =>
      live.onNotice((n) => {
        if (n.kind === 'gap') throttle.schedule();
      }),
    [live, throttle],
  );
}
