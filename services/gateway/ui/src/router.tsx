import { type MouseEvent, type ReactNode, useSyncExternalStore } from 'react';

/** A very small history router: the gateway answers every non-API path with index.html. */

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

export function navigate(path: string): void {
  if (path === window.location.pathname) return;
  window.history.pushState(null, '', path);
  for (const listener of [...listeners]) listener();
}

export function Link(props: {
  to: string;
  className?: string;
  children: ReactNode;
  'aria-current'?: 'page' | undefined;
  'data-testid'?: string;
}) {
  const { to, children, ...rest } = props;
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}
