import { useCallback, useEffect, useId, useState } from 'react';
import { ApiError, errorText } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import {
  FormDialog,
  PriorityLabelsFields,
  useFormDialog,
  usePriorityLabels,
} from '../components/form-dialog';
import { FieldError } from '../components/form-field';
import { SvgIcon } from '../components/icons';
import { ReadOnlyNotice } from '../components/role-notice';
import { StatusBadge } from '../components/status-badge';
import { useApp, useCanWrite } from '../context';
import { coordApi, type Instantiated, type Template } from '../coord-api';
import { useLatestRead, useLiveRefetch } from '../list-hooks';
import { Link } from '../router';
import { taskPath } from '../routes';
import { formatTime, relativeTime } from '../task-detail';
import {
  buildRunBody,
  buildTemplateInput,
  draftOfTemplate,
  EMPTY_TEMPLATE_DRAFT,
  errorsBySlot,
  errorsOfIssues,
  runFields,
  type TemplateDraft,
  type TemplateSlot,
} from '../template-form';
import '../coord-pages.css';
import { ListError } from '../components/list-states';

const TEMPLATE_EVENTS = ['coord.template-saved', 'coord.template-deleted'];
const REFETCH_MS = 300;

/** Task templates: a task or a small DAG with {{variables}}; create, edit, delete and run them. */
export function TemplatesPage() {
  const { api, notices } = useApp();
  const canWrite = useCanWrite();
  const [items, setItems] = useState<Template[] | undefined>();
  const [editing, setEditing] = useState<{ template?: Template } | undefined>();
  const [deleting, setDeleting] = useState<Template | undefined>();
  const [running, setRunning] = useState<Template | undefined>();
  const [ran, setRan] = useState<Instantiated | undefined>();

  const read = useCallback(() => coordApi.templates(api), [api]);
  const { fetch: fetchList, error } = useLatestRead(read, (answer) =>
    setItems([...answer.items].sort((a, b) => a.name.localeCompare(b.name))),
  );
  useEffect(() => {
    void fetchList();
  }, [fetchList]);
  useLiveRefetch(
    () => void fetchList(),
    (event) => TEMPLATE_EVENTS.includes(event.type),
    REFETCH_MS,
  );

  const remove = async (t: Template) => {
    setDeleting(undefined);
    try {
      await coordApi.deleteTemplate(api, t.name);
      notices.action(`Deleted template ${t.name}`);
      notices.toast('success', 'Template deleted', t.name);
      setItems((current) => current?.filter((x) => x.name !== t.name));
    } catch (err) {
      notices.error(`Delete of ${t.name} failed: ${errorText(err)}`);
      notices.toast('error', `Could not delete ${t.name}`, errorText(err));
    }
  };

  return (
    <div className="page page-wide" data-testid="templates">
      <div className="page-head">
        <div>
          <h1>Templates</h1>
          <p className="muted">
            A task, or a small graph of tasks, saved with <code>{'{{variables}}'}</code> to run again with new
            values.
          </p>
        </div>
        <div className="page-actions">
          <button
            type="button"
            className="btn btn-primary"
            disabled={!canWrite}
            title={canWrite ? 'Create a template' : 'Creating templates needs the operator role'}
            onClick={() => setEditing({})}
            data-testid="tpl-new"
          >
            <SvgIcon name="plus" size={14} /> New template
          </button>
        </div>
      </div>

      {!canWrite && <ReadOnlyNotice what="create, edit, delete or run templates" />}

      {ran && <RunResult result={ran} onClose={() => setRan(undefined)} />}

      <ListError
        what="templates"
        error={error}
        onRetry={() => void fetchList()}
        testId="tpl-error"
        inCard={false}
      />

      <section className="card" data-testid="tpl-list">
        {!items ? (
          <div className="empty">
            {!error && <div className="spinner" role="status" aria-label="Loading" />}
          </div>
        ) : items.length === 0 ? (
          <div className="empty" data-testid="tpl-empty">
            <p>
              <strong>No templates yet.</strong>
            </p>
            <p className="muted">
              Save a task or a few tasks with dependencies as a template, then run it with values for its
              variables.
            </p>
          </div>
        ) : (
          <div className="table-scroll">
            <table className="table">
              <thead>
                <tr>
                  <th>Template</th>
                  <th>Variables</th>
                  <th className="num">Tasks</th>
                  <th>Updated</th>
                  <th className="tpl-actions-head">Actions</th>
                </tr>
              </thead>
              <tbody>
                {items.map((t) => (
                  <tr key={t.name} data-testid={`tpl-row-${t.name}`}>
                    <td>
                      <span className="mono row-title">{t.name}</span>
                      {t.description && <div className="muted small">{t.description}</div>}
                    </td>
                    <td>
                      {t.variables.length === 0 ? (
                        <span className="muted">—</span>
                      ) : (
                        t.variables.map((v) => (
                          <span
                            key={v.name}
                            className="label-chip"
                            title={`${v.description ?? ''}${v.default === undefined ? ' (required)' : ` (default "${v.default}")`}`}
                          >
                            {v.name}
                            {v.default === undefined && <span className="tpl-required">*</span>}
                          </span>
                        ))
                      )}
                    </td>
                    <td className="num">{t.tasks.length}</td>
                    <td className="small nowrap" title={`${formatTime(t.updatedAt)} by ${t.updatedBy}`}>
                      {relativeTime(t.updatedAt)}
                    </td>
                    <td className="tpl-actions">
                      <button
                        type="button"
                        className="btn btn-primary btn-small"
                        disabled={!canWrite}
                        onClick={() => setRunning(t)}
                        data-testid={`tpl-run-${t.name}`}
                      >
                        <SvgIcon name="play" size={12} /> Run
                      </button>
                      <button
                        type="button"
                        className="btn btn-secondary btn-small"
                        disabled={!canWrite}
                        onClick={() => setEditing({ template: t })}
                        data-testid={`tpl-edit-${t.name}`}
                      >
                        <SvgIcon name="edit" size={12} /> Edit
                      </button>
                      <button
                        type="button"
                        className="btn btn-ghost btn-small"
                        disabled={!canWrite}
                        onClick={() => setDeleting(t)}
                        data-testid={`tpl-delete-${t.name}`}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      {editing && (
        <TemplateEditor
          template={editing.template}
          onClose={(saved) => {
            setEditing(undefined);
            if (saved) {
              setItems((current) =>
                [...(current ?? []).filter((x) => x.name !== saved.name), saved].sort((a, b) =>
                  a.name.localeCompare(b.name),
                ),
              );
            }
          }}
        />
      )}
      {running && (
        <RunDialog
          template={running}
          onClose={(result) => {
            setRunning(undefined);
            if (result) setRan(result);
          }}
        />
      )}
      <ConfirmDialog
        open={deleting !== undefined}
        title={`Delete template ${deleting?.name ?? ''}?`}
        confirmLabel="Delete"
        danger
        onConfirm={() => deleting && void remove(deleting)}
        onCancel={() => setDeleting(undefined)}
      >
        <p>Tasks already made from it stay. This cannot be undone.</p>
      </ConfirmDialog>
    </div>
  );
}

const SLOT_HELP: Record<'variables' | 'tasks', string> = {
  variables: 'A JSON list of {"name", "default"?, "description"?}; one without a default is required.',
  tasks:
    'A JSON list of {"id", "title", "kind"?, "payload"?, "priority"?, "labels"?, "deps"?: [local ids]}; strings may hold {{variable}}.',
};

/** The server's field errors of a refused template, by the draft's fields. */
const serverFieldErrors = (err: unknown) =>
  err instanceof ApiError && err.fields.length > 0 ? errorsOfIssues(err.fields) : undefined;

function TemplateEditor({
  template,
  onClose,
}: {
  template: Template | undefined;
  onClose: (saved: Template | undefined) => void;
}) {
  const { api, notices } = useApp();
  const ids = useId();
  const [draft, setDraft] = useState<TemplateDraft>(() =>
    template ? draftOfTemplate(template) : EMPTY_TEMPLATE_DRAFT,
  );
  const { errors, failure, busy, run } = useFormDialog({ fieldErrorsOf: serverFieldErrors });
  const { bySlot, other } = errorsBySlot(errors);
  const set = (slot: TemplateSlot) => (value: string) => setDraft((d) => ({ ...d, [slot]: value }));

  const submit = () =>
    run(buildTemplateInput(draft), 'Saving template failed', async (input) => {
      const saved = await coordApi.saveTemplate(api, input);
      notices.action(`Saved template ${saved.name}`);
      notices.toast('success', 'Template saved', saved.name);
      onClose(saved);
    });

  const fieldErrors = (slot: TemplateSlot) =>
    bySlot[slot]?.map((text) => (
      <p key={text} className="field-error" data-testid={`tpl-field-error-${slot}`}>
        {text}
      </p>
    ));

  return (
    <FormDialog
      title={template ? `Edit template ${template.name}` : 'New template'}
      submitLabel="Save"
      busy={busy}
      failure={[failure, ...other].filter(Boolean).join(' · ') || undefined}
      onSubmit={() => void submit()}
      onCancel={() => onClose(undefined)}
      testId="tpl-editor"
    >
      <label className="label dialog-label" htmlFor={`${ids}-name`}>
        Name
      </label>
      <input
        id={`${ids}-name`}
        className="input input-mono"
        value={draft.name}
        onChange={(e) => set('name')(e.target.value)}
        readOnly={template !== undefined}
        placeholder="nightly-build"
        aria-invalid={bySlot.name ? true : undefined}
        data-testid="tpl-name"
      />
      {fieldErrors('name')}
      <label className="label dialog-label" htmlFor={`${ids}-description`}>
        Description <span className="optional">optional</span>
      </label>
      <input
        id={`${ids}-description`}
        className="input"
        value={draft.description}
        onChange={(e) => set('description')(e.target.value)}
        aria-invalid={bySlot.description ? true : undefined}
        data-testid="tpl-description"
      />
      {fieldErrors('description')}
      {(['variables', 'tasks'] as const).map((slot) => (
        <div key={slot}>
          <label className="label dialog-label" htmlFor={`${ids}-${slot}`}>
            {slot === 'variables' ? 'Variables' : 'Tasks'}{' '}
            {slot === 'variables' && <span className="optional">optional</span>}
          </label>
          <textarea
            id={`${ids}-${slot}`}
            className="input textarea json-editor input-mono"
            rows={slot === 'tasks' ? 12 : 5}
            spellCheck={false}
            value={draft[slot]}
            onChange={(e) => set(slot)(e.target.value)}
            aria-invalid={bySlot[slot] ? true : undefined}
            data-testid={`tpl-${slot}`}
          />
          <p className="help small muted">{SLOT_HELP[slot]}</p>
          {fieldErrors(slot)}
        </div>
      ))}
    </FormDialog>
  );
}

function RunDialog({
  template,
  onClose,
}: {
  template: Template;
  onClose: (result: Instantiated | undefined) => void;
}) {
  const { api, notices } = useApp();
  const ids = useId();
  const fields = runFields(template);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(fields.map((f) => [f.name, f.initial])),
  );
  const overrides = usePriorityLabels();
  const { errors, setErrors, failure, busy, run } = useFormDialog({ fieldErrorsOf: serverFieldErrors });

  const submit = () =>
    run(
      buildRunBody(template, { values, priority: overrides.priority, labels: overrides.labels }),
      `Running ${template.name} failed`,
      async (body) => {
        const result = await coordApi.instantiate(api, template.name, body);
        notices.action(`Ran template ${template.name}: ${result.tasks.length} tasks`);
        notices.toast(
          'success',
          `Created ${result.tasks.length} task${result.tasks.length === 1 ? '' : 's'}`,
          template.name,
        );
        onClose(result);
      },
    );

  return (
    <FormDialog
      title={`Run ${template.name}`}
      submitLabel={`Create ${template.tasks.length} task${template.tasks.length === 1 ? '' : 's'}`}
      busy={busy}
      failure={failure}
      onSubmit={() => void submit()}
      onCancel={() => onClose(undefined)}
      testId="tpl-run-dialog"
    >
      {template.description && <p>{template.description}</p>}
      {fields.length === 0 && <p className="muted">This template has no variables.</p>}
      {fields.map((f) => (
        <div key={f.name}>
          <label className="label dialog-label" htmlFor={`${ids}-v-${f.name}`}>
            <span className="mono">{f.name}</span>{' '}
            {f.required ? (
              <span className="tpl-required" data-testid={`tpl-required-${f.name}`}>
                required
              </span>
            ) : (
              <span className="optional">default "{f.initial}"</span>
            )}
          </label>
          <input
            id={`${ids}-v-${f.name}`}
            className="input"
            value={values[f.name] ?? ''}
            onChange={(e) => {
              setValues((v) => ({ ...v, [f.name]: e.target.value }));
              setErrors(({ [`values.${f.name}`]: _fixed, ...rest }) => rest);
            }}
            aria-invalid={errors[`values.${f.name}`] ? true : undefined}
            data-testid={`tpl-var-${f.name}`}
          />
          {f.description && <p className="help small muted">{f.description}</p>}
          <FieldError error={errors[`values.${f.name}`]} testId={`tpl-field-error-values.${f.name}`} />
        </div>
      ))}
      <PriorityLabelsFields
        id={ids}
        draft={overrides}
        errors={errors}
        priorityNote="optional, for every task"
        labelsNote="optional, added to every task"
        testId="tpl-run"
        errorTestId="tpl-field-error"
      />
    </FormDialog>
  );
}

function RunResult({ result, onClose }: { result: Instantiated; onClose: () => void }) {
  return (
    <section className="callout callout-info tpl-result" role="status" data-testid="tpl-run-result">
      <div className="bulk-result-head">
        <strong>
          Created {result.tasks.length} task{result.tasks.length === 1 ? '' : 's'} from {result.template}
        </strong>
        <button type="button" className="btn btn-ghost btn-icon" onClick={onClose} aria-label="Close">
          <SvgIcon name="close" size={14} />
        </button>
      </div>
      <ul className="tpl-result-list">
        {result.tasks.map((t) => (
          <li key={t.id}>
            <Link to={taskPath(t.id)} data-testid={`tpl-created-${t.id}`}>
              {t.title}
            </Link>{' '}
            <span className="mono muted small">{t.id}</span> <StatusBadge status={t.status} />
          </li>
        ))}
      </ul>
    </section>
  );
}
