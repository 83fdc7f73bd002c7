import { type FormEvent, useId, useState } from 'react';
import { type ApiClient, ApiError, errorText, type Session } from '../api';
import { ThemeToggle } from '../components/header';
import { SvgIcon } from '../components/icons';
import type { Theme } from '../theme';

/** API tokens are `jst_` and 64 lowercase hex characters (the same rule as the gateway). */
export const API_TOKEN_RE = /^jst_[0-9a-f]{64}$/;

export function tokenProblem(token: string): string | undefined {
  if (token === '') return 'Paste your API token.';
  if (!token.startsWith('jst_')) return 'A token starts with "jst_".';
  if (!API_TOKEN_RE.test(token)) return 'A token is "jst_" followed by 64 lowercase hex characters.';
  return undefined;
}

export function LoginPage(props: {
  api: ApiClient;
  notice: string | undefined;
  theme: Theme;
  onToggleTheme: () => void;
  onSignedIn: (session: Session) => void;
}) {
  const { api, notice, theme, onToggleTheme, onSignedIn } = props;
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const inputId = useId();
  const errorId = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const value = token.trim();
    const problem = tokenProblem(value);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await api.login(value));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? `${err.message}` : errorText(err));
      setBusy(false);
    }
  };

  return (
    <div className="login">
      <div className="login-theme">
        <ThemeToggle theme={theme} onToggle={onToggleTheme} />
      </div>
      <form className="card login-card" onSubmit={submit} noValidate>
        <div className="login-brand">
          <span className="brand-mark brand-mark-large">
            <SvgIcon name="logo" size={22} />
          </span>
          <div>
            <h1>Jousting Operator</h1>
            <p className="muted">Control plane console</p>
          </div>
        </div>
        {notice && (
          <p className="callout callout-info" data-testid="login-notice">
            {notice}
          </p>
        )}
        <label htmlFor={inputId} className="label">
          API token
        </label>
        <input
          id={inputId}
          name="token"
          className="input input-mono"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="jst_…"
          value={token}
          onChange={(e) => {
            setToken(e.target.value);
            setError(undefined);
          }}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          data-testid="token-input"
          // biome-ignore lint/a11y/noAutofocus: the only field on the page
          autoFocus
        />
        {error ? (
          <p id={errorId} className="field-error" role="alert" data-testid="login-error">
            {error}
          </p>
        ) : (
          <p className="help">
            <code>jousting up</code> writes the admin token to <code>.data/admin-token</code>. It is exchanged
            for a session cookie and never stored in the browser.
          </p>
        )}
        <button
          type="submit"
          className="btn btn-primary btn-block"
          disabled={busy}
          data-testid="login-submit"
        >
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
