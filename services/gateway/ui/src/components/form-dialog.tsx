import { type FormEvent, type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { errorText } from '../api';
import { useApp } from '../context';
import type { FormResult } from '../dead-letters';
import { FieldError, FieldLabel } from './form-field';

/** A modal form on the native <dialog>, open while mounted; the server's refusal shows inside it. */
export function FormDialog(props: {
  title: string;
  submitLabel: string;
  danger?: boolean;
  busy: boolean;
  failure: string | undefined;
  children: ReactNode;
  onSubmit: () => void;
  onCancel: () => void;
  testId: string;
}) {
  const { title, submitLabel, danger, busy, failure, children, onSubmit, onCancel, testId } = props;
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!busy) onSubmit();
  };
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
      data-testid={testId}
    >
      <form onSubmit={submit} noValidate>
        <h2 id={titleId}>{title}</h2>
        <div className="dialog-body">{children}</div>
        {failure && (
          <p className="callout callout-error dl-failure" role="alert" data-testid={`${testId}-failure`}>
            {failure}
          </p>
        )}
        <div className="dialog-actions">
          <button
            type="button"
            className="btn btn-secondary"
            onClick={onCancel}
            data-testid={`${testId}-cancel`}
          >
            Cancel
          </button>
          <button
            type="submit"
            className={`btn ${danger ? 'btn-danger' : 'btn-primary'}`}
            disabled={busy}
            data-testid={`${testId}-submit`}
          >
            {busy ? 'Working…' : submitLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/**
 * The state every FormDialog keeps: field errors, the server's refusal and busy. `run` checks the
 * form, sends it and, when the server refuses, shows why in the dialog and in the activity log.
 */
export function useFormDialog(
  options: { fieldErrorsOf?: (err: unknown) => Record<string, string> | undefined } = {},
) {
  const { notices } = useApp();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const run = async <T,>(built: FormResult<T>, failedAs: string, send: (value: T) => Promise<void>) => {
    setFailure(undefined);
    if (!built.ok) {
      setErrors(built.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      await send(built.value);
    } catch (err) {
      const fromServer = options.fieldErrorsOf?.(err);
      if (fromServer) setErrors(fromServer);
      setFailure(errorText(err));
      notices.error(`${failedAs}: ${errorText(err)}`);
      setBusy(false);
    }
  };
  return { errors, setErrors, failure, busy, run };
}

/** One labelled text input of a dialog, with its field error under it. */
export function DialogField(props: {
  id: string;
  label: ReactNode;
  optional?: ReactNode;
  value: string;
  onChange: (value: string) => void;
  error: string | undefined;
  testId: string;
  errorTestId: string;
  variant?: 'number' | 'mono';
  placeholder?: string;
  maxLength?: number;
  help?: ReactNode;
}) {
  const { id, label, optional, value, onChange, error, testId, errorTestId, variant } = props;
  return (
    <>
      <FieldLabel htmlFor={id} className="label dialog-label" optional={optional}>
        {label}
      </FieldLabel>
      <input
        id={id}
        className={variant ? `input input-${variant}` : 'input'}
        inputMode={variant === 'number' ? 'numeric' : undefined}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        maxLength={props.maxLength}
        placeholder={props.placeholder}
        aria-invalid={error ? true : undefined}
        data-testid={testId}
      />
      {props.help && <p className="help small muted">{props.help}</p>}
      <FieldError error={error} testId={errorTestId} />
    </>
  );
}

/** What PriorityLabelsFields edits: the priority and the labels as typed. */
export function usePriorityLabels() {
  const [priority, setPriority] = useState('');
  const [labels, setLabels] = useState('');
  return { priority, labels, setPriority, setLabels };
}

/** The priority and labels to give tasks (a retry, a template run); empty keeps what they have. */
export function PriorityLabelsFields(props: {
  id: string;
  draft: ReturnType<typeof usePriorityLabels>;
  errors: Record<string, string>;
  priorityNote: string;
  labelsNote: string;
  /** `<testId>-priority` and `<testId>-labels`; their errors `<errorTestId>-priority` and so on. */
  testId: string;
  errorTestId: string;
}) {
  const { id, draft, errors, testId, errorTestId } = props;
  return (
    <>
      <DialogField
        id={`${id}-priority`}
        label="Priority"
        optional={props.priorityNote}
        variant="number"
        value={draft.priority}
        onChange={draft.setPriority}
        placeholder="-1000 … 1000"
        error={errors.priority}
        testId={`${testId}-priority`}
        errorTestId={`${errorTestId}-priority`}
      />
      <DialogField
        id={`${id}-labels`}
        label="Labels"
        optional={props.labelsNote}
        variant="mono"
        value={draft.labels}
        onChange={draft.setLabels}
        placeholder="gpu, region=eu"
        error={errors.labels}
        testId={`${testId}-labels`}
        errorTestId={`${errorTestId}-labels`}
      />
    </>
  );
}
