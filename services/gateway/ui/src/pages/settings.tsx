import { type FormEvent, type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, errorText, type SettingKey, type SettingsPatch } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { SvgIcon } from '../components/icons';
import { RoleNotice } from '../components/role-notice';
import { SettingField } from '../components/setting-field';
import { useApp, useLiveEvents } from '../context';
import {
  applySaveResult,
  buildPatch,
  type DraftValue,
  discardEdits,
  displayValue,
  editField,
  type FieldDescriptor,
  type FormState,
  fieldErrorsFrom,
  fieldsFromSchema,
  formatChanges,
  groupFields,
  initialForm,
  isDirty,
  mergeRemote,
  parseDraft,
  parseSettingsChanged,
  revertField,
  sameValue,
} from '../settings-form';

type Load = { state: 'loading' } | { state: 'failed'; message: string } | { state: 'ready' };
type Busy = false | 'save' | 'reset';

const ROLE_RANK = { viewer: 0, operator: 1, admin: 2 } as const;

/** The settings form, generated from the settings JSON Schema and kept live by `settings.changed`. */
export function SettingsPage() {
  const { api, session, live, notices, ownWrites } = useApp();
  const canEdit = ROLE_RANK[session.role] >= ROLE_RANK.operator;

  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [fields, setFields] = useState<FieldDescriptor[]>([]);
  const [form, setFormState] = useState<FormState>(() => initialForm({}));
  const formRef = useRef(form);
  const setForm = useCallback((next: FormState) => {
    formRef.current = next;
    setFormState(next);
  }, []);
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<Busy>(false);
  const [confirmReset, setConfirmReset] = useState(false);

  const reload = useCallback(async () => {
    try {
      const [schema, { settings }] = await Promise.all([api.getSettingsSchema(), api.getSettings()]);
      setFields(fieldsFromSchema(schema));
      // Keep what the user typed; only the server side is refreshed.
      setForm({ ...formRef.current, server: { ...settings } });
      setLoad({ state: 'ready' });
    } catch (err) {
      setLoad({ state: 'failed', message: errorText(err) });
    }
  }, [api, setForm]);

  useEffect(() => {
    void reload();
  }, [reload]);

  // After a gap in the event history the form may be stale: read it again.
  useEffect(
    () =>
      live.onNotice((n) => {
        if (n.kind === 'gap') void reload();
      }),
    [live, reload],
  );

  useLiveEvents((e) => {
    if (e.event.type !== 'settings.changed' || load.state !== 'ready') return;
    const data = parseSettingsChanged(e.event.data);
    if (!data) return;
    const result = mergeRemote(fields, formRef.current, data);
    setForm(result.state);
    if (result.applied.length > 0) setServerErrors((errs) => omitKeys(errs, result.applied));
  });

  const clientErrors = useMemo(() => {
    const errors: Record<string, string> = {};
    for (const field of fields) {
      const edit = form.edits[field.key];
      if (edit === undefined) continue;
      const parsed = parseDraft(field, edit);
      if (!parsed.ok) errors[field.key] = parsed.error;
    }
    return errors;
  }, [fields, form.edits]);
  const dirty = fields.filter((f) => isDirty(form, f));
  const hasClientErrors = Object.keys(clientErrors).length > 0;

  const onEdit = (key: string, draft: DraftValue) => {
    setForm(editField(formRef.current, key, draft));
    setServerErrors((errs) => omitKeys(errs, [key]));
  };

  const reportFailure = (what: string, err: unknown) => {
    if (err instanceof ApiError && err.fields.length > 0) {
      const { byField, other } = fieldErrorsFrom(
        err.fields,
        fields.map((f) => f.key),
      );
      setServerErrors(byField);
      const lines = [...Object.entries(byField).map(([k, m]) => `${k}: ${m}`), ...other];
      notices.error(lines.join('; '));
      notices.toast('error', `${what} failed`, lines.join('\n'));
    } else if (err instanceof ApiError && err.status === 403) {
      notices.error(`${what} refused: ${err.message}`);
      notices.toast(
        'error',
        `${what} refused`,
        `Your role (${session.role}) may not do this. ${err.message}`,
      );
    } else {
      notices.error(`${what} failed: ${errorText(err)}`);
      notices.toast('error', `${what} failed`, errorText(err));
    }
  };

  const save = async (e?: FormEvent) => {
    e?.preventDefault();
    if (!canEdit || busy) return;
    const { patch, errors } = buildPatch(fields, formRef.current);
    const errorKeys = Object.keys(errors);
    if (errorKeys.length > 0) {
      notices.error(errorKeys.map((k) => `${k}: ${errors[k]}`).join('; '));
      return;
    }
    const keys = Object.keys(patch);
    if (keys.length === 0) return;
    setBusy('save');
    setServerErrors({});
    const echo = ownWrites.expect(patch);
    try {
      const result = await api.patchSettings(patch as SettingsPatch);
      if (Object.keys(result.changes).length === 0) ownWrites.cancel(echo);
      setForm(applySaveResult(formRef.current, result.settings, keys));
      const title = `Saved ${keys.length} setting${keys.length === 1 ? '' : 's'}`;
      const detail = formatChanges(result.changes);
      notices.action(detail ? `${title}: ${detail}` : title);
      notices.toast('success', title, detail || 'Nothing changed.');
    } catch (err) {
      ownWrites.cancel(echo);
      reportFailure('Save', err);
    } finally {
      setBusy(false);
    }
  };

  const reset = async (keys: string[] | undefined) => {
    if (!canEdit || busy) return;
    setBusy('reset');
    const targets = keys ?? fields.map((f) => f.key);
    const defaults = Object.fromEntries(
      fields.filter((f) => targets.includes(f.key)).map((f) => [f.key, f.default]),
    );
    const echo = ownWrites.expect(defaults);
    try {
      const result = await api.resetSettings(keys as SettingKey[] | undefined);
      if (Object.keys(result.changes).length === 0) ownWrites.cancel(echo);
      setForm(applySaveResult(formRef.current, result.settings, targets));
      setServerErrors((errs) => omitKeys(errs, targets));
      const title = keys ? `Reset ${keys.join(', ')} to default` : 'Reset all settings to defaults';
      const detail = formatChanges(result.changes);
      notices.action(detail ? `${title}: ${detail}` : `${title} (already at default)`);
      notices.toast('success', title, detail || 'Already at the default.');
    } catch (err) {
      ownWrites.cancel(echo);
      reportFailure('Reset', err);
    } finally {
      setBusy(false);
    }
  };

  if (load.state === 'loading') {
    return (
      <div className="page">
        <SettingsHead />
        <div className="card empty">
          <div className="spinner" role="status" aria-label="Loading settings" />
        </div>
      </div>
    );
  }
  if (load.state === 'failed') {
    return (
      <div className="page">
        <SettingsHead />
        <div className="callout callout-error" role="alert">
          Could not load the settings: {load.message}{' '}
          <button type="button" className="link-button" onClick={() => void reload()}>
            Try again
          </button>
        </div>
      </div>
    );
  }

  const atDefaults = fields.every((f) => f.default === undefined || sameValue(form.server[f.key], f.default));
  return (
    <div className="page">
      <SettingsHead>
        <button
          type="button"
          className="btn btn-secondary"
          onClick={() => setConfirmReset(true)}
          disabled={!canEdit || busy !== false || atDefaults}
          title={atDefaults ? 'Every setting is at its default' : 'Reset every setting to its default'}
          data-testid="reset-all"
        >
          <SvgIcon name="undo" size={14} />
          Reset all
        </button>
      </SettingsHead>

      {!canEdit && (
        <RoleNotice testId="readonly-notice">
          you can see the settings, but changing them needs the <strong>operator</strong> or{' '}
          <strong>admin</strong> role.
        </RoleNotice>
      )}

      <form className="settings-form" onSubmit={save} noValidate data-testid="settings-form">
        <fieldset disabled={!canEdit} className="settings-fieldset">
          <legend className="sr-only">Settings</legend>
          {groupFields(fields).map((group) => (
            <section key={group.group} className="card settings-group" data-testid={`group-${group.group}`}>
              <div className="card-head">
                <h2>{group.title}</h2>
                <span className="muted small">
                  {group.fields.length} setting{group.fields.length === 1 ? '' : 's'}
                </span>
              </div>
              {group.fields.map((field) => (
                <SettingField
                  key={field.key}
                  field={field}
                  value={displayValue(form, field)}
                  serverValue={form.server[field.key]}
                  dirty={isDirty(form, field)}
                  clientError={clientErrors[field.key]}
                  serverError={serverErrors[field.key]}
                  remote={form.remote[field.key]}
                  busy={busy !== false}
                  onChange={(draft) => onEdit(field.key, draft)}
                  onReset={() => void reset([field.key])}
                  onUseRemote={() => setForm(revertField(formRef.current, field.key))}
                />
              ))}
            </section>
          ))}
        </fieldset>

        <div className={`save-bar ${dirty.length > 0 ? 'is-dirty' : ''}`} data-testid="save-bar">
          <span className="save-bar-text">
            {dirty.length === 0
              ? 'No unsaved changes'
              : `${dirty.length} unsaved change${dirty.length === 1 ? '' : 's'}: ${dirty.map((f) => f.key).join(', ')}`}
            {hasClientErrors && <span className="save-bar-error"> · fix the highlighted fields to save</span>}
          </span>
          <button
            type="button"
            className="btn btn-secondary"
            disabled={!canEdit || busy !== false || Object.keys(form.edits).length === 0}
            onClick={() => {
              setForm(discardEdits(formRef.current));
              setServerErrors({});
            }}
            data-testid="discard-settings"
          >
            Discard
          </button>
          <button
            type="submit"
            className="btn btn-primary"
            disabled={!canEdit || busy !== false || dirty.length === 0 || hasClientErrors}
            title={canEdit ? undefined : 'Changing settings needs the operator role'}
            data-testid="save-settings"
          >
            {busy === 'save' ? 'Saving…' : 'Save changes'}
          </button>
        </div>
      </form>

      <ConfirmDialog
        open={confirmReset}
        title="Reset all settings?"
        confirmLabel="Reset all"
        danger
        onCancel={() => setConfirmReset(false)}
        onConfirm={() => {
          setConfirmReset(false);
          void reset(undefined);
        }}
      >
        Every setting goes back to its default value, for all services, right away. Unsaved edits are dropped.
      </ConfirmDialog>
    </div>
  );
}

function SettingsHead({ children }: { children?: ReactNode }) {
  return (
    <div className="page-head">
      <div>
        <h1>Settings</h1>
        <p className="muted">Changes apply to every service at once and show up live for everyone.</p>
      </div>
      {children && <div className="page-actions">{children}</div>}
    </div>
  );
}

function omitKeys(record: Record<string, string>, keys: string[]): Record<string, string> {
  if (!keys.some((k) => k in record)) return record;
  const copy = { ...record };
  for (const key of keys) delete copy[key];
  return copy;
}
