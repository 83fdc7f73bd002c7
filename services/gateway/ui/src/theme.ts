export type Theme = 'light' | 'dark';

export const THEME_KEY = 'jousting.theme';

/** The saved choice, else what the system prefers. */
export function initialTheme(storage: Pick<Storage, 'getItem'> | undefined, prefersDark: boolean): Theme {
  const saved = storage?.getItem(THEME_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return prefersDark ? 'dark' : 'light';
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  document.documentElement.style.colorScheme = theme;
}

export function systemPrefersDark(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
}

export function safeStorage(): Storage | undefined {
  try {
    return localStorage;
  } catch {
    return undefined;
  }
}
