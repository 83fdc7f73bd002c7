import type { RevealedSecret, SecretMeta } from '@jousting/contracts';
import { type FormEvent, useCallback, useEffect, useId, useRef, useState } from 'react';
import { ApiError, errorText } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { FormField } from '../components/form-field';
import { ListEmpty, ListError } from '../components/list-states';
import { PageHead } from '../components/page-head';
import { RoleNotice } from '../components/role-notice';
import { useApp, useLiveEvents } from '../context';
import { useLatestRead, useNow } from '../list-hooks';
import { formatTime, relativeTime } from '../task-detail';

/** The same rules as the contract (SecretName, SecretValue); the server checks again. */
const NAME_RE = /^[A-Za-z0-9_]{1,64}$/;
const MAX_VALUE = 65_536;
const MAX_DESCRIPTION = 500;
/** A revealed value is hidden again after this long, in case the screen is left open. */
const REVEAL_MS = 60_000;
const MASK = '\u2022'.repeat(10);

const secretPath = (name: string, rest = '') => `/api/secrets/${encodeURIComponent(name)}${rest}`;

interface PutForm {
  name: string;
  value: string;
  description: string;
}
type FieldErrors = Partial<Record<keyof PutForm, string>>;

function checkPutForm(form: PutForm): FieldErrors {
  const errors: FieldErrors = {};
  if (!NAME_RE.test(form.name)) errors.name = 'Letters, digits and "_" only, 1 to 64 characters.';
  if (form.value === '') errors.value = 'Enter the value to store.';
  else if (form.value.length > MAX_VALUE) errors.value = `At most ${MAX_VALUE} characters.`;
  if (form.description.length > MAX_DESCRIPTION)
    errors.description = `At most ${MAX_DESCRIPTION} characters.`;
  return errors;
}

/**
 * The secrets vault: names and metadata for operators; admins also store, reveal (audited, shown
 * until hidden) and delete. A revealed value lives only in this page's state.
 */
export function SecretsPage() {
  const { api, session, notices } = useApp();
  const isAdmin = session.role === 'admin';
  const canList = session.role !== 'viewer';
  const [items, setItems] = useState<SecretMeta[] | undefined>();
  const [revealed, setRevealed] = useState<Record<string, RevealedSecret>>({});
  const [revealing, setRevealing] = useState<string | undefined>();
  const [deleting, setDeleting] = useState<SecretMeta | undefined>();
  const [formName, setFormName] = useState('');
  const [now, touchNow] = useNow(10_000);

  const read = useCallback(() => api.request<{ items: SecretMeta[] }>('GET', '/api/secrets'), [api]);
  const {
    fetch: fetchList,
    error,
    loading,
  } = useLatestRead(canList ? read : undefined, (answer) => {
    setItems(answer.items);
    touchNow();
    // A value revealed before a new version was stored is stale: hide it.
    setRevealed((shown) => {
      const kept: Record<string, RevealedSecret> = {};
      for (const item of answer.items) {
        const r = shown[item.name];
        if (r && r.version === item.version) kept[item.name] = r;
      }
      return kept;
    });
  });

  useEffect(() => {
    void fetchList();
  }, [fetchList]);
  useLiveEvents((e) => {
    if (e.event.type === 'settings.secret-put' || e.event.type === 'settings.secret-deleted')
      void fetchList();
  });
  // Revealed values go away by themselves after REVEAL_MS.
  useEffect(() => {
    const names = Object.keys(revealed);
    if (names.length === 0) return;
    const timer = setTimeout(() => setRevealed({}), REVEAL_MS);
    return () => clearTimeout(timer);
  }, [revealed]);

  const hide = (name: string) =>
    setRevealed((shown) => {
      const { [name]: _gone, ...rest } = shown;
      return rest;
    });

  const reveal = async (name: string) => {
    setRevealing(name);
    try {
      const answer = await api.request<RevealedSecret>('POST', secretPath(name, '/reveal'));
      setRevealed((shown) => ({ ...shown, [name]: answer }));
      notices.action(`Revealed secret ${name} (audited)`);
    } catch (err) {
      notices.error(`Reveal of ${name} failed: ${errorText(err)}`);
      notices.toast('error', `Reveal of ${name} failed`, errorText(err));
    } finally {
      setRevealing(undefined);
    }
  };

  const confirmDelete = async () => {
    const target = deleting;
    if (!target) return;
    setDeleting(undefined);
    try {
      await api.request('DELETE', secretPath(target.name));
      hide(target.name);
      notices.action(`Deleted secret ${target.name}`);
      notices.toast('success', 'Secret deleted', target.name);
      void fetchList();
    } catch (err) {
      notices.error(`Delete of ${target.name} failed: ${errorText(err)}`);
      notices.toast('error', `Delete of ${target.name} failed`, errorText(err));
    }
  };

  return (
    <div className="page page-wide">
      <PageHead title="Secrets" onRefresh={() => void fetchList()}>
        Credentials stored encrypted (AES-256-GCM) by the settings service. Values are never listed; an admin
        can reveal one, and every reveal is written to the audit log.
      </PageHead>

      {!canList && (
        <RoleNotice testId="secrets-no-access">
          the list of secrets needs the <strong>operator</strong> role, storing, revealing and deleting them
          the <strong>admin</strong> role.
        </RoleNotice>
      )}
      {canList && !isAdmin && (
        <RoleNotice testId="secrets-readonly">
          you can see which secrets exist, but to store, reveal or delete one you need the{' '}
          <strong>admin</strong> role.
        </RoleNotice>
      )}

      {isAdmin && <PutSecretForm name={formName} onName={setFormName} onStored={() => void fetchList()} />}

      {canList && (
        <section className="card" data-testid="secrets">
          <ListError what="secrets" error={error} onRetry={() => void fetchList()} testId="secrets-error" />
          {!items || items.length === 0 ? (
            <ListEmpty loaded={items !== undefined} loading={loading} testId="secrets-empty">
              <p>
                <strong>No secrets yet.</strong>
              </p>
              <p className="muted">
                Store API tokens and webhook credentials here instead of in settings or task payloads.
                {isAdmin ? ' Use the form above.' : ''}
              </p>
            </ListEmpty>
          ) : (
            <div className="table-scroll">
              <table className="table" aria-busy={loading} data-testid="secrets-table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Value</th>
                    <th className="num">Version</th>
                    <th>Updated</th>
                    <th>Description</th>
                    {isAdmin && <th>Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {items.map((s) => {
                    const shown = revealed[s.name];
                    return (
                      <tr key={s.name} data-testid={`secret-row-${s.name}`}>
                        <td className="mono">{s.name}</td>
                        <td>
                          {shown ? (
                            <code
                              className="mono"
                              data-testid={`secret-value-${s.name}`}
                              data-revealed="true"
                            >
                              {shown.value}
                            </code>
                          ) : (
                            <span
                              className="mono muted"
                              data-testid={`secret-value-${s.name}`}
                              data-revealed="false"
                            >
                              <span aria-hidden="true">{MASK}</span>
                              <span className="sr-only">hidden</span>
                            </span>
                          )}
                        </td>
                        <td className="num" data-testid={`secret-version-${s.name}`}>
                          {s.version}
                        </td>
                        <td
                          className="small nowrap"
                          title={`created ${formatTime(s.createdAt)} by ${s.createdBy}`}
                        >
                          {relativeTime(s.updatedAt, now)} <span className="muted">by {s.updatedBy}</span>
                        </td>
                        <td className="small" data-testid={`secret-description-${s.name}`}>
                          {s.description ?? ''}
                        </td>
                        {isAdmin && (
                          <td className="dl-actions">
                            {shown ? (
                              <button
                                type="button"
                                className="btn btn-secondary btn-small"
                                onClick={() => hide(s.name)}
                                data-testid={`secret-hide-${s.name}`}
                              >
                                Hide
                              </button>
                            ) : (
                              <button
                                type="button"
                                className="btn btn-secondary btn-small"
                                disabled={revealing === s.name}
                                onClick={() => void reveal(s.name)}
                                data-testid={`secret-reveal-${s.name}`}
                              >
                                Reveal
                              </button>
                            )}
                            <button
                              type="button"
                              className="btn btn-ghost btn-small"
                              onClick={() => {
                                setFormName(s.name);
                                window.scrollTo({ top: 0 });
                              }}
                              data-testid={`secret-replace-${s.name}`}
                            >
                              Replace
                            </button>
                            <button
                              type="button"
                              className="btn btn-ghost btn-small"
                              onClick={() => setDeleting(s)}
                              data-testid={`secret-delete-${s.name}`}
                            >
                              Delete
                            </button>
                          </td>
                        )}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}

      <ConfirmDialog
        open={deleting !== undefined}
        title={`Delete secret ${deleting?.name ?? ''}?`}
        confirmLabel="Delete"
        danger
        onConfirm={() => void confirmDelete()}
        onCancel={() => setDeleting(undefined)}
      >
        <p>
          The value is removed for good. Anything that uses <code>{deleting?.name}</code> (a webhook, a hook)
          stops working until it is stored again.
        </p>
      </ConfirmDialog>
    </div>
  );
}

/** Store a new secret, or a new value for an existing one (the name is then filled in). */
function PutSecretForm(props: { name: string; onName: (name: string) => void; onStored: () => void }) {
  const { api, notices } = useApp();
  const ids = useId();
  const [value, setValue] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const valueRef = useRef<HTMLInputElement>(null);
  const form: PutForm = { name: props.name.trim(), value, description: description.trim() };

  useEffect(() => {
    if (props.name) valueRef.current?.focus();
  }, [props.name]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    const found = checkPutForm(form);
    setErrors(found);
    setFailure(undefined);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    try {
      const meta = await api.request<SecretMeta>('PUT', secretPath(form.name), {
        body: { value: form.value, ...(form.description ? { description: form.description } : {}) },
      });
      setValue('');
      setDescription('');
      props.onName('');
      notices.action(`Stored secret ${meta.name} (version ${meta.version})`);
      notices.toast('success', 'Secret stored', `${meta.name}, version ${meta.version}`);
      props.onStored();
    } catch (err) {
      if (err instanceof ApiError && err.fields.length > 0) {
        const fromServer: FieldErrors = {};
        for (const f of err.fields) {
          if (f.field === 'name' || f.field === 'value' || f.field === 'description')
            fromServer[f.field] = f.message;
        }
        setErrors(fromServer);
      }
      setFailure(errorText(err));
      notices.error(`Storing secret ${form.name} failed: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" data-testid="secret-form">
      <div className="card-head">
        <h2>Store a secret</h2>
        <span className="muted small">An existing name gets a new version; the old value is gone.</span>
      </div>
      <form onSubmit={(e) => void submit(e)} noValidate autoComplete="off" style={{ padding: '12px 16px' }}>
        <div className="task-fields">
          <FormField id={`${ids}-name`} label="Name" error={errors.name} errorTestId="secret-form-error-name">
            <input
              id={`${ids}-name`}
              className="input input-mono"
              value={props.name}
              onChange={(e) => props.onName(e.target.value)}
              placeholder="e.g. SLACK_WEBHOOK_TOKEN"
              maxLength={64}
              aria-invalid={errors.name ? true : undefined}
              data-testid="secret-form-name"
            />
          </FormField>
          <FormField
            id={`${ids}-value`}
            label="Value"
            error={errors.value}
            errorTestId="secret-form-error-value"
          >
            <input
              id={`${ids}-value`}
              ref={valueRef}
              type="password"
              autoComplete="new-password"
              className="input input-mono"
              value={value}
              onChange={(e) => setValue(e.target.value)}
              aria-invalid={errors.value ? true : undefined}
              data-testid="secret-form-value"
            />
          </FormField>
          <FormField
            id={`${ids}-description`}
            label="Description"
            optional="optional; empty keeps the current one"
            wide
            error={errors.description}
            errorTestId="secret-form-error-description"
          >
            <input
              id={`${ids}-description`}
              className="input"
              value={description}
              onChange={(e) => setDescription(e.target.value)}
              maxLength={MAX_DESCRIPTION}
              placeholder="What it is for"
              aria-invalid={errors.description ? true : undefined}
              data-testid="secret-form-description"
            />
          </FormField>
          {failure && (
            <p className="callout callout-error form-other" role="alert" data-testid="secret-form-failure">
              {failure}
            </p>
          )}
          <div className="form-other">
            <button
              type="submit"
              className="btn btn-primary"
              disabled={busy}
              data-testid="secret-form-submit"
            >
              {busy ? 'Storing…' : 'Store secret'}
            </button>
          </div>
        </div>
      </form>
    </section>
  );
}
