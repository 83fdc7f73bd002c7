import { type FormEvent, Fragment, useCallback, useEffect, useId, useRef, useState } from 'react';
import { ApiError, errorText } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { FormField } from '../components/form-field';
import { SvgIcon } from '../components/icons';
import { useApp } from '../context';
import { useLatestRead, useLiveRefetch, useNow } from '../list-hooks';
import type { RouteParams } from '../routes';
import { formatTime, relativeTime } from '../task-detail';
import {
  attemptText,
  attemptTone,
  buildNewWebhook,
  buildPatch,
  type CreatedWebhook,
  type Delivery,
  type DeliveryStatus,
  type DraftErrors,
  deliveriesQuery,
  deliveryTone,
  draftOf,
  emptyDraft,
  FORMATS,
  isWebhookEvent,
  lastAttemptText,
  MAX_DESCRIPTION,
  MAX_LABEL,
  nextAttemptText,
  type RotatedWebhookSecret,
  SUGGESTED_PATTERNS,
  serverErrors,
  testResultText,
  type Webhook,
  type WebhookDraft,
  type WebhookTestResult,
  webhookPath,
  webhookStatus,
  withPattern,
} from '../webhooks';
import '../notify.css';
import { ListEmpty, ListError } from '../components/list-states';
import { PageHead } from '../components/page-head';
import { RoleNotice } from '../components/role-notice';

/** Webhook events re-read the list (and open delivery logs) at most this often. */
const REFETCH_MS = 500;
/** An open delivery log with pending deliveries is re-read this often (retries publish no event). */
const PENDING_POLL_MS = 3000;

interface ShownSecret {
  title: string;
  secret: string;
  note: string;
}

/**
 * Webhooks: where events are sent, each endpoint's health and delivery log. Operators see and
 * read the logs; admins register, edit, switch on and off, test, rotate secrets and redeliver.
 */
export function WebhooksPage({ params }: { params: RouteParams }) {
  const { api, session, notices } = useApp();
  // `/webhooks/<id>` (from a notification) marks that webhook and opens its delivery log.
  const focus = params.id;
  const isAdmin = session.role === 'admin';
  const canList = session.role !== 'viewer';
  const [items, setItems] = useState<Webhook[] | undefined>();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<string | undefined>();
  const [logs, setLogs] = useState<ReadonlySet<string>>(() => new Set(focus ? [focus] : []));
  const [tests, setTests] = useState<Record<string, WebhookTestResult | 'sending'>>({});
  const [secret, setSecret] = useState<ShownSecret | undefined>();
  const [rotating, setRotating] = useState<Webhook | undefined>();
  const [deleting, setDeleting] = useState<Webhook | undefined>();
  const [busy, setBusy] = useState<string | undefined>();
  const [now, touchNow] = useNow(10_000);
  /** Bumped on webhook events so open delivery logs re-read too. */
  const [logTick, setLogTick] = useState(0);

  const read = useCallback(() => api.request<{ items: Webhook[] }>('GET', '/api/webhooks'), [api]);
  const {
    fetch: fetchList,
    error,
    loading,
  } = useLatestRead(canList ? read : undefined, (answer) => {
    setItems(answer.items);
    touchNow();
  });

  useEffect(() => {
    void fetchList();
  }, [fetchList]);
  useLiveRefetch(
    () => {
      void fetchList();
      setLogTick((t) => t + 1);
    },
    (event) => isWebhookEvent(event.type),
    REFETCH_MS,
  );

  const act = async (w: Webhook, what: string, run: () => Promise<void>) => {
    setBusy(w.id);
    try {
      await run();
    } catch (err) {
      notices.error(`${what} of webhook ${w.label} failed: ${errorText(err)}`);
      notices.toast('error', `${what} failed`, errorText(err));
    } finally {
      setBusy(undefined);
    }
  };

  const setActive = (w: Webhook, active: boolean) =>
    act(w, active ? 'Enabling' : 'Disabling', async () => {
      await api.request<Webhook>('PATCH', webhookPath(w.id), { body: { active } });
      notices.action(`${active ? 'Enabled' : 'Disabled'} webhook ${w.label}`);
      await fetchList();
    });

  const sendTest = (w: Webhook) =>
    act(w, 'Test delivery', async () => {
      setTests((t) => ({ ...t, [w.id]: 'sending' }));
      try {
        const result = await api.request<WebhookTestResult>('POST', webhookPath(w.id, '/test'));
        setTests((t) => ({ ...t, [w.id]: result }));
        notices.action(`Test delivery to ${w.label}: ${testResultText(result)}`);
      } catch (err) {
        setTests(({ [w.id]: _gone, ...rest }) => rest);
        throw err;
      }
    });

  const rotate = () => {
    const w = rotating;
    setRotating(undefined);
    if (!w) return;
    void act(w, 'Secret rotation', async () => {
      const answer = await api.request<RotatedWebhookSecret>('POST', webhookPath(w.id, '/rotate-secret'));
      setSecret({
        title: `New signing secret for ${w.label}`,
        secret: answer.secret,
        note: `The previous secret stays valid until ${formatTime(answer.previousSecretValidUntil)}: until then every delivery carries both signatures, so switch the receiver over before that.`,
      });
      notices.action(`Rotated the signing secret of ${w.label}`);
      await fetchList();
    });
  };

  const remove = () => {
    const w = deleting;
    setDeleting(undefined);
    if (!w) return;
    void act(w, 'Delete', async () => {
      await api.request('DELETE', webhookPath(w.id));
      notices.action(`Deleted webhook ${w.label}`);
      notices.toast('success', 'Webhook deleted', w.label);
      await fetchList();
    });
  };

  const toggleLog = (id: string) =>
    setLogs((open) => {
      const next = new Set(open);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  const columns = isAdmin ? 6 : 5;
  return (
    <div className="page page-wide">
      <PageHead
        title="Webhooks"
        onRefresh={() => void fetchList()}
        actions={
          isAdmin &&
          !creating && (
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => setCreating(true)}
              data-testid="wh-new"
            >
              <SvgIcon name="plus" size={14} /> New webhook
            </button>
          )
        }
      >
        Events POSTed to other systems, signed the Standard Webhooks way (<code>webhook-id</code>,{' '}
        <code>webhook-timestamp</code>, <code>webhook-signature</code>) and retried with backoff. Updated
        live.
      </PageHead>

      {!canList && (
        <RoleNotice testId="wh-no-access">
          webhook URLs can hold credentials, so the list needs the <strong>operator</strong> role, and
          changing webhooks the <strong>admin</strong> role.
        </RoleNotice>
      )}
      {canList && !isAdmin && (
        <RoleNotice testId="wh-readonly">
          you can see the webhooks and their delivery logs, but registering, editing, testing, rotating
          secrets and redelivering need the <strong>admin</strong> role.
        </RoleNotice>
      )}

      {secret && <SecretBox shown={secret} onDone={() => setSecret(undefined)} />}

      {isAdmin && creating && (
        <section className="card" data-testid="wh-create">
          <div className="card-head">
            <h2>New webhook</h2>
            <span className="muted small">A signing secret is made for it and shown once.</span>
          </div>
          <WebhookForm
            initial={emptyDraft()}
            submitLabel="Create webhook"
            onCancel={() => setCreating(false)}
            onSubmit={async (draft) => {
              const built = buildNewWebhook(draft);
              if (!built.ok) return built.errors;
              const created = await api.request<CreatedWebhook>('POST', '/api/webhooks', {
                body: built.value,
              });
              setCreating(false);
              setSecret({
                title: `Signing secret for ${created.label}`,
                secret: created.secret,
                note: 'Give it to the receiver to verify signatures (any Standard Webhooks library does).',
              });
              notices.action(`Created webhook ${created.label}`);
              notices.toast('success', 'Webhook created', created.label);
              await fetchList();
              return undefined;
            }}
          />
        </section>
      )}

      {canList && (
        <section className="card" data-testid="webhooks">
          <ListError what="webhooks" error={error} onRetry={() => void fetchList()} testId="wh-error" />
          {!items || items.length === 0 ? (
            <ListEmpty loaded={items !== undefined} loading={loading} testId="wh-empty">
              <p>
                <strong>No webhooks yet.</strong>
              </p>
              <p className="muted">
                Send task, settings or notifier events to CI, chat (Slack, Discord) or your own service.
                {isAdmin ? ' Use "New webhook".' : ''}
              </p>
            </ListEmpty>
          ) : (
            <div className="table-scroll">
              <table className="table" aria-busy={loading} data-testid="wh-table">
                <thead>
                  <tr>
                    <th>Webhook</th>
                    <th>Events</th>
                    <th>State</th>
                    <th>Last attempt</th>
                    <th>Log</th>
                    {isAdmin && <th>Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {items.map((w) => {
                    const status = webhookStatus(w, now);
                    const test = tests[w.id];
                    return (
                      <Fragment key={w.id}>
                        <tr
                          className={w.id === focus ? 'row-focus' : undefined}
                          data-testid={`wh-row-${w.id}`}
                          data-active={w.active}
                        >
                          <td>
                            <div className="row-title">{w.label}</div>
                            <div className="mono muted small wh-url">{w.url}</div>
                            <div className="muted small">
                              {w.format}
                              {w.description ? ` · ${w.description}` : ''}
                            </div>
                          </td>
                          <td>
                            <div className="wh-events">
                              {w.events.map((p) => (
                                <code key={p}>{p}</code>
                              ))}
                            </div>
                          </td>
                          <td>
                            <span className={`pill pill-${status.tone}`} data-testid={`wh-state-${w.id}`}>
                              {status.title}
                            </span>
                            {status.detail && (
                              <div
                                className="muted small wh-state-detail"
                                data-testid={`wh-state-detail-${w.id}`}
                              >
                                {status.detail}
                              </div>
                            )}
                          </td>
                          <td className="small nowrap" data-testid={`wh-last-${w.id}`}>
                            {lastAttemptText(w, now)}
                            {w.state.lastError && w.state.lastResponseStatus !== undefined && (
                              <div className="muted">{w.state.lastError}</div>
                            )}
                          </td>
                          <td>
                            <button
                              type="button"
                              className="btn btn-secondary btn-small"
                              aria-expanded={logs.has(w.id)}
                              onClick={() => toggleLog(w.id)}
                              data-testid={`wh-deliveries-${w.id}`}
                            >
                              {logs.has(w.id) ? 'Hide log' : 'Deliveries'}
                            </button>
                          </td>
                          {isAdmin && (
                            <td>
                              <div className="wh-actions">
                                <button
                                  type="button"
                                  className="btn btn-secondary btn-small"
                                  disabled={test === 'sending'}
                                  onClick={() => void sendTest(w)}
                                  data-testid={`wh-test-${w.id}`}
                                >
                                  {test === 'sending' ? 'Sending…' : 'Send test'}
                                </button>
                                <button
                                  type="button"
                                  className="btn btn-ghost btn-small"
                                  onClick={() => setEditing(editing === w.id ? undefined : w.id)}
                                  data-testid={`wh-edit-${w.id}`}
                                >
                                  Edit
                                </button>
                                <button
                                  type="button"
                                  className="btn btn-ghost btn-small"
                                  disabled={busy === w.id}
                                  onClick={() => void setActive(w, !w.active)}
                                  data-testid={`wh-toggle-${w.id}`}
                                >
                                  {w.active ? 'Disable' : 'Enable'}
                                </button>
                                <button
                                  type="button"
                                  className="btn btn-ghost btn-small"
                                  onClick={() => setRotating(w)}
                                  data-testid={`wh-rotate-${w.id}`}
                                >
                                  Rotate secret
                                </button>
                                <button
                                  type="button"
                                  className="btn btn-ghost btn-small"
                                  onClick={() => setDeleting(w)}
                                  data-testid={`wh-delete-${w.id}`}
                                >
                                  Delete
                                </button>
                              </div>
                              {w.previousSecretValidUntil && Date.parse(w.previousSecretValidUntil) > now && (
                                <div className="muted small">
                                  Previous secret signs until {formatTime(w.previousSecretValidUntil, now)}
                                </div>
                              )}
                            </td>
                          )}
                        </tr>
                        {test && test !== 'sending' && (
                          <tr className="wh-panel">
                            <td colSpan={columns}>
                              <TestResult
                                result={test}
                                onClose={() => setTests(({ [w.id]: _gone, ...rest }) => rest)}
                                testId={`wh-test-result-${w.id}`}
                              />
                            </td>
                          </tr>
                        )}
                        {isAdmin && editing === w.id && (
                          <tr className="wh-panel">
                            <td colSpan={columns}>
                              <WebhookForm
                                initial={draftOf(w)}
                                submitLabel="Save changes"
                                testIdPrefix="wh-edit-form"
                                onCancel={() => setEditing(undefined)}
                                onSubmit={async (draft) => {
                                  const built = buildPatch(draft, w);
                                  if (!built.ok) return built.errors;
                                  if (Object.keys(built.value).length > 0) {
                                    await api.request<Webhook>('PATCH', webhookPath(w.id), {
                                      body: built.value,
                                    });
                                    notices.action(`Saved webhook ${draft.label.trim()}`);
                                  }
                                  setEditing(undefined);
                                  await fetchList();
                                  return undefined;
                                }}
                              />
                            </td>
                          </tr>
                        )}
                        {logs.has(w.id) && (
                          <tr className="wh-panel">
                            <td colSpan={columns}>
                              <DeliveryLog webhook={w} canRedeliver={isAdmin} tick={logTick} />
                            </td>
                          </tr>
                        )}
                      </Fragment>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}

      {/* One dialog at a time: both would share the confirm-dialog test id and title id. */}
      {rotating && (
        <ConfirmDialog
          open
          title={`Rotate the signing secret of ${rotating.label}?`}
          confirmLabel="Rotate secret"
          onConfirm={rotate}
          onCancel={() => setRotating(undefined)}
        >
          <p>
            A new secret is made and shown once. The current one keeps signing for 24 hours (each delivery
            carries both signatures), so the receiver can switch over without losing a message.
          </p>
        </ConfirmDialog>
      )}
      {deleting && (
        <ConfirmDialog
          open
          title={`Delete webhook ${deleting.label}?`}
          confirmLabel="Delete"
          danger
          onConfirm={remove}
          onCancel={() => setDeleting(undefined)}
        >
          <p>
            Its delivery log and signing secret are removed and pending deliveries are dropped. Events stop
            going to <code>{deleting.url}</code>.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** A signing secret, shown once: copy it, then close the box. */
function SecretBox({ shown, onDone }: { shown: ShownSecret; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | undefined>();
  const valueRef = useRef<HTMLElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(shown.secret);
      setCopied('yes');
    } catch {
      // No clipboard (insecure origin, denied): select the text so Ctrl+C works.
      const range = document.createRange();
      if (valueRef.current) range.selectNodeContents(valueRef.current);
      const selection = window.getSelection();
      selection?.removeAllRanges();
      selection?.addRange(range);
      setCopied('failed');
    }
  };
  return (
    <section className="secret-box" role="alert" data-testid="wh-secret-box">
      <h2>{shown.title}</h2>
      <p>
        <strong>Copy it now: you won't see it again.</strong> It is stored encrypted and never shown by the
        list, the API or the CLI; if it is lost, rotate the secret.
      </p>
      <div className="secret-row">
        <code className="secret-value" ref={valueRef} data-testid="wh-secret">
          {shown.secret}
        </code>
        <button
          type="button"
          className="btn btn-secondary"
          onClick={() => void copy()}
          data-testid="wh-secret-copy"
        >
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
      </div>
      {copied === 'failed' && (
        <p className="muted">The clipboard is not available here: the secret is selected, press Ctrl+C.</p>
      )}
      <p className="muted">{shown.note}</p>
      <button type="button" className="btn btn-primary" onClick={onDone} data-testid="wh-secret-done">
        I have stored it
      </button>
    </section>
  );
}

function TestResult({
  result,
  onClose,
  testId,
}: {
  result: WebhookTestResult;
  onClose: () => void;
  testId: string;
}) {
  return (
    <div className="test-result" data-testid={testId} data-delivered={result.delivered}>
      <div className="wh-actions">
        <strong className={result.delivered ? 'attempt-ok' : 'attempt-bad'} data-testid={`${testId}-summary`}>
          {testResultText(result)}
        </strong>
        <span className="header-spacer" />
        <button type="button" className="link-button small" onClick={onClose}>
          Close
        </button>
      </div>
      {result.error && result.responseStatus !== undefined && <div className="muted">{result.error}</div>}
      {result.responseBody !== undefined && (
        <>
          <div className="muted small" style={{ marginTop: 6 }}>
            Response body (first 1,000 characters):
          </div>
          <pre data-testid={`${testId}-body`}>{result.responseBody || '(empty)'}</pre>
        </>
      )}
    </div>
  );
}

/** Create or edit form; `onSubmit` returns field errors to show, or throws the server's refusal. */
function WebhookForm(props: {
  initial: WebhookDraft;
  submitLabel: string;
  testIdPrefix?: string;
  onSubmit: (draft: WebhookDraft) => Promise<DraftErrors | undefined>;
  onCancel: () => void;
}) {
  const { notices } = useApp();
  const ids = useId();
  const t = props.testIdPrefix ?? 'wh-form';
  const [draft, setDraft] = useState(props.initial);
  const [errors, setErrors] = useState<DraftErrors>({});
  const [failure, setFailure] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof WebhookDraft>(key: K, value: WebhookDraft[K]) =>
    setDraft((d) => ({ ...d, [key]: value }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setFailure(undefined);
    setBusy(true);
    try {
      const found = await props.onSubmit(draft);
      setErrors(found ?? {});
    } catch (err) {
      if (err instanceof ApiError && err.fields.length > 0) setErrors(serverErrors(err.fields));
      setFailure(errorText(err));
      notices.error(`Saving webhook failed: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      onSubmit={(e) => void submit(e)}
      noValidate
      autoComplete="off"
      style={{ padding: '12px 16px' }}
      data-testid={t}
    >
      <div className="task-fields">
        <FormField id={`${ids}-url`} label="URL" wide error={errors.url} errorTestId={`${t}-error-url`}>
          <input
            id={`${ids}-url`}
            className="input input-mono"
            value={draft.url}
            onChange={(e) => set('url', e.target.value)}
            placeholder="https://ci.example.com/hooks/jousting"
            aria-invalid={errors.url ? true : undefined}
            data-testid={`${t}-url`}
          />
        </FormField>
        <FormField
          id={`${ids}-events`}
          label="Events"
          wide
          error={errors.events}
          errorTestId={`${t}-error-events`}
        >
          <input
            id={`${ids}-events`}
            className="input input-mono"
            value={draft.events}
            onChange={(e) => set('events', e.target.value)}
            placeholder="coord.*, settings.changed"
            aria-invalid={errors.events ? true : undefined}
            aria-describedby={`${ids}-events-hint`}
            data-testid={`${t}-events`}
          />
          <p className="wh-hint" id={`${ids}-events-hint`}>
            Event types as NATS patterns, separated by commas: <code>*</code> matches one word,{' '}
            <code>&gt;</code> at the end the rest.
          </p>
          <div className="wh-suggestions">
            <span className="muted">Add:</span>
            {SUGGESTED_PATTERNS.map((p) => (
              <button key={p} type="button" onClick={() => set('events', withPattern(draft.events, p))}>
                {p}
              </button>
            ))}
          </div>
        </FormField>
        <FormField id={`${ids}-label`} label="Label" error={errors.label} errorTestId={`${t}-error-label`}>
          <input
            id={`${ids}-label`}
            className="input"
            value={draft.label}
            onChange={(e) => set('label', e.target.value)}
            maxLength={MAX_LABEL}
            placeholder="e.g. CI, #alerts"
            aria-invalid={errors.label ? true : undefined}
            data-testid={`${t}-label`}
          />
        </FormField>
        <FormField
          id={`${ids}-format`}
          label="Format"
          error={errors.format}
          errorTestId={`${t}-error-format`}
        >
          <select
            id={`${ids}-format`}
            className="input"
            value={draft.format}
            onChange={(e) => set('format', e.target.value as WebhookDraft['format'])}
            data-testid={`${t}-format`}
          >
            {FORMATS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.title}
              </option>
            ))}
          </select>
        </FormField>
        <FormField
          id={`${ids}-description`}
          label="Description"
          optional="optional"
          wide
          error={errors.description}
          errorTestId={`${t}-error-description`}
        >
          <input
            id={`${ids}-description`}
            className="input"
            value={draft.description}
            onChange={(e) => set('description', e.target.value)}
            maxLength={MAX_DESCRIPTION}
            placeholder="What it is for, who owns the receiver"
            aria-invalid={errors.description ? true : undefined}
            data-testid={`${t}-description`}
          />
        </FormField>
        <div className="form-field">
          <label className="small">
            <input
              type="checkbox"
              checked={draft.active}
              onChange={(e) => set('active', e.target.checked)}
              data-testid={`${t}-active`}
            />{' '}
            Active (send events)
          </label>
        </div>
        {failure && (
          <p className="callout callout-error form-other" role="alert" data-testid={`${t}-failure`}>
            {failure}
          </p>
        )}
        <div className="form-other wh-actions">
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid={`${t}-submit`}>
            {busy ? 'Saving…' : props.submitLabel}
          </button>
          <button
            type="button"
            className="btn btn-ghost"
            onClick={props.onCancel}
            data-testid={`${t}-cancel`}
          >
            Cancel
          </button>
        </div>
      </div>
    </form>
  );
}

const DELIVERY_FILTERS: Array<DeliveryStatus | 'all'> = ['all', 'pending', 'delivered', 'failed'];

/** One webhook's delivery log, newest first, re-read on its events and while deliveries are pending. */
function DeliveryLog({
  webhook,
  canRedeliver,
  tick,
}: {
  webhook: Webhook;
  canRedeliver: boolean;
  tick: number;
}) {
  const { api, notices } = useApp();
  const [status, setStatus] = useState<DeliveryStatus | 'all'>('all');
  const [items, setItems] = useState<Delivery[] | undefined>();
  const [total, setTotal] = useState(0);
  const [redelivering, setRedelivering] = useState<string | undefined>();
  const [now, setNow] = useState(() => Date.now());

  const read = useCallback(
    () =>
      api.request<{ items: Delivery[]; total: number }>(
        'GET',
        webhookPath(webhook.id, `/deliveries${deliveriesQuery(status)}`),
      ),
    [api, webhook.id, status],
  );
  const { fetch: fetchLog, error } = useLatestRead(read, (page) => {
    setItems(page.items);
    setTotal(page.total);
    setNow(Date.now());
  });

  useEffect(() => {
    void tick;
    void fetchLog();
  }, [fetchLog, tick]);
  const pending = items?.some((d) => d.status === 'pending') ?? false;
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => void fetchLog(), PENDING_POLL_MS);
    return () => clearInterval(timer);
  }, [pending, fetchLog]);

  const redeliver = async (d: Delivery) => {
    setRedelivering(d.id);
    try {
      await api.request<Delivery>(
        'POST',
        webhookPath(webhook.id, `/deliveries/${encodeURIComponent(d.id)}/redeliver`),
      );
      notices.action(`Redelivering ${d.eventType} to ${webhook.label}`);
      await fetchLog();
    } catch (err) {
      notices.error(`Redeliver of ${d.id} failed: ${errorText(err)}`);
      notices.toast('error', 'Redeliver failed', errorText(err));
    } finally {
      setRedelivering(undefined);
    }
  };

  return (
    <div className="wh-panel-inner" data-testid={`wh-log-${webhook.id}`}>
      <div className="wh-actions" style={{ alignItems: 'center', marginBottom: 8 }}>
        <strong>Delivery log</strong>
        <span className="muted small">{total} in all, the last 100 are kept</span>
        <span className="header-spacer" />
        <div className="segmented" role="tablist" aria-label="Delivery status">
          {DELIVERY_FILTERS.map((f) => (
            <button
              key={f}
              type="button"
              role="tab"
              aria-selected={status === f}
              className={`segment ${status === f ? 'is-on' : ''}`}
              onClick={() => setStatus(f)}
              data-testid={`wh-log-filter-${f}`}
            >
              {f}
            </button>
          ))}
        </div>
      </div>
      {error && (
        <p className="callout callout-error" role="alert">
          Could not read the log: {error}
        </p>
      )}
      {items && items.length === 0 ? (
        <p className="muted small" data-testid={`wh-log-empty-${webhook.id}`}>
          {status === 'all' ? 'Nothing sent yet.' : `No ${status} deliveries.`}
        </p>
      ) : (
        items && (
          <table className="table">
            <thead>
              <tr>
                <th>Event</th>
                <th>Status</th>
                <th>Attempts</th>
                <th>Next attempt</th>
                <th>Created</th>
                {canRedeliver && <th />}
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr
                  key={d.id}
                  data-testid={`wh-delivery-${d.id}`}
                  data-status={d.status}
                  data-event-type={d.eventType}
                >
                  <td>
                    <div className="mono small">{d.eventType}</div>
                    <div className="mono muted small" title="webhook-id header">
                      {d.id}
                    </div>
                  </td>
                  <td>
                    <span className={`pill pill-${deliveryTone(d.status)}`}>{d.status}</span>
                  </td>
                  <td>
                    <ul className="attempt-list">
                      {d.attempts.map((a) => (
                        <li key={`${a.at}/${a.durationMs}`}>
                          <span className={`attempt-${attemptTone(a)}`}>{attemptText(a)}</span>
                          <span className="muted">{formatTime(a.at, now)}</span>
                        </li>
                      ))}
                    </ul>
                    {d.attemptCount > d.attempts.length && (
                      <div className="muted small">
                        {d.attemptCount} attempts, the last {d.attempts.length} shown
                      </div>
                    )}
                  </td>
                  <td className="small nowrap">{nextAttemptText(d, now) ?? '—'}</td>
                  <td className="small nowrap" title={formatTime(d.createdAt)}>
                    {relativeTime(d.createdAt, now)}
                  </td>
                  {canRedeliver && (
                    <td>
                      <button
                        type="button"
                        className="btn btn-ghost btn-small"
                        disabled={redelivering === d.id || d.status === 'pending'}
                        title={d.status === 'pending' ? 'Still being retried' : 'Send it again now'}
                        onClick={() => void redeliver(d)}
                        data-testid={`wh-redeliver-${d.id}`}
                      >
                        Redeliver
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )
      )}
    </div>
  );
}
