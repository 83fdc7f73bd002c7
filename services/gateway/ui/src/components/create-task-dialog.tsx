import type { Task } from '@jousting/contracts';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError, errorText } from '../api';
import { useApp } from '../context';
import { parseTaskSummary } from '../coord-events';
import { buildNewTask, emptyDraft, type FieldErrors, serverFieldErrors, type TaskDraft } from '../task-form';
import { SvgIcon } from './icons';
import { TaskFormFields } from './task-form-fields';

/** A key per form opening: pressing Create twice (or a retried request) makes one task. */
export function newIdempotencyKey(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `ui-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** The "New task" form in a modal dialog. */
export function CreateTaskDialog(props: {
  open: boolean;
  onClose: () => void;
  onCreated?: (task: Task) => void;
}) {
  const { open, onClose, onCreated } = props;
  const { api, notices, tasks } = useApp();
  const ref = useRef<HTMLDialogElement>(null);
  const [draft, setDraft] = useState<TaskDraft>(emptyDraft);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | undefined>();
  const [key, setKey] = useState(newIdempotencyKey);
  const [depTitles, setDepTitles] = useState<Map<string, string>>(() => new Map());

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);

  const reset = () => {
    setDraft(emptyDraft());
    setErrors({});
    setSubmitted(false);
    setFailure(undefined);
    setKey(newIdempotencyKey());
    setDepTitles(new Map());
  };

  const change = (next: TaskDraft) => {
    setDraft(next);
    // After a first attempt, errors follow the typing; the server's wait for the next submit.
    if (submitted) {
      const built = buildNewTask(next);
      setErrors(built.ok ? {} : built.errors);
    }
    // A changed form is a new request, not a repeat of the failed one.
    setKey(newIdempotencyKey());
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    setFailure(undefined);
    const built = buildNewTask(draft);
    if (!built.ok) {
      setErrors(built.errors);
      return;
    }
    setBusy(true);
    try {
      const { task, created } = await api.createTask(built.value, key);
      const summary = parseTaskSummary(task);
      // Shown at once, even if the event is slow; an older answer than the events is ignored.
      if (summary) tasks.store.upsert(summary);
      notices.action(`${created ? 'Created' : 'Already created'} task ${task.id}: ${task.title}`);
      notices.toast(
        'success',
        created ? 'Task created' : 'Task already created',
        `${task.title} (${task.id})`,
      );
      reset();
      onCreated?.(task);
      onClose();
    } catch (err) {
      if (err instanceof ApiError && err.fields.length > 0) {
        setErrors(serverFieldErrors(err.fields));
        setFailure('The server refused some fields; see the messages next to them.');
      } else if (err instanceof ApiError && err.status === 403) {
        setFailure(`Your role may not create tasks: ${err.message}`);
      } else {
        setFailure(errorText(err));
      }
      notices.error(`Create task failed: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={ref}
      className="dialog dialog-wide"
      aria-labelledby="create-task-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      data-testid="create-task-dialog"
    >
      {open && (
        <form onSubmit={submit} noValidate data-testid="create-task-form">
          <div className="dialog-head">
            <h2 id="create-task-title">New task</h2>
            <button type="button" className="btn btn-ghost btn-icon" onClick={onClose} aria-label="Close">
              <SvgIcon name="close" />
            </button>
          </div>
          <div className="dialog-scroll">
            <TaskFormFields
              draft={draft}
              onChange={change}
              errors={errors}
              mode="create"
              disabled={busy}
              depTitles={depTitles}
              onDepPicked={(id, title) => setDepTitles((m) => new Map(m).set(id, title))}
            />
          </div>
          {failure && (
            <p className="callout callout-error dialog-failure" role="alert" data-testid="create-failure">
              {failure}
            </p>
          )}
          <div className="dialog-actions">
            <button
              type="button"
              className="btn btn-secondary"
              onClick={reset}
              disabled={busy}
              data-testid="create-task-clear"
            >
              Clear
            </button>
            <span className="spacer" />
            <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy}>
              Cancel
            </button>
            <button
              type="submit"
              className="btn btn-primary"
              disabled={busy}
              data-testid="create-task-submit"
            >
              {busy ? 'Creating…' : 'Create task'}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
