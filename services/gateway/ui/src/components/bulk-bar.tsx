import type { BulkResult, BulkSelection } from '@jousting/contracts';
import { useEffect, useId, useRef, useState } from 'react';
import {
  afterBulk,
  buildBulkRequest,
  describeFilter,
  selectionState,
  summarizeBulkResult,
} from '../bulk-selection';
import { useApp } from '../context';
import { type BulkAction, coordApi } from '../coord-api';
import { Link } from '../router';
import { taskPath } from '../routes';
import { DialogField, FormDialog, useFormDialog } from './form-dialog';
import { SvgIcon } from './icons';
import '../coord-pages.css';

type Filter = NonNullable<BulkSelection['filter']>;

/** What the next action applies to: the ticked tasks, or everything the list's filter matches. */
type Target = { kind: 'ids'; ids: string[] } | { kind: 'filter'; filter: Filter; total: number };

const DIALOG_TITLES: Record<BulkAction, string> = {
  cancel: 'Cancel',
  retry: 'Retry',
  reprioritize: 'Set the priority of',
};

const ACTION_TITLES: Record<BulkAction, string> = {
  cancel: 'Cancel',
  retry: 'Retry',
  reprioritize: 'Set priority',
};

/** A checkbox that ticks one task for a bulk action (on a board card or a list row). */
export function SelectBox({
  id,
  checked,
  onToggle,
}: {
  id: string;
  checked: boolean;
  onToggle: (id: string) => void;
}) {
  return (
    <input
      type="checkbox"
      className="bulk-check"
      checked={checked}
      onChange={() => onToggle(id)}
      aria-label={`Select ${id}`}
      data-testid={`select-${id}`}
    />
  );
}

/** The header checkbox of a page of rows: ticks all of them, or none; shows "some" as mixed. */
export function SelectAllBox({
  ids,
  selected,
  onChange,
}: {
  ids: readonly string[];
  selected: ReadonlySet<string>;
  onChange: () => void;
}) {
  const ref = useRef<HTMLInputElement>(null);
  const state = selectionState(selected, ids);
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = state === 'some';
  }, [state]);
  return (
    <input
      ref={ref}
      type="checkbox"
      className="bulk-check"
      checked={state === 'all'}
      onChange={onChange}
      aria-label="Select every task on this page"
      data-testid="select-page"
    />
  );
}

/**
 * Cancel, retry or set the priority of the ticked tasks, or of all tasks the current filter
 * matches; shows what was done and, for each refused task, why.
 */
export function BulkBar({
  selected,
  onSelectedChange,
  filter,
  matching,
}: {
  selected: ReadonlySet<string>;
  onSelectedChange: (next: Set<string>) => void;
  /** The list's filter, when the page has one the server understands. */
  filter?: Filter | undefined;
  /** How many tasks the filter matches now. */
  matching?: number | undefined;
}) {
  const [asking, setAsking] = useState<{ action: BulkAction; target: Target } | undefined>();
  const [result, setResult] = useState<{ action: BulkAction; result: BulkResult } | undefined>();
  const count = selected.size;
  const target: Target = { kind: 'ids', ids: [...selected] };

  const actionButtons = (t: Target, testPrefix: string) =>
    (['cancel', 'retry', 'reprioritize'] as const).map((action) => (
      <button
        key={action}
        type="button"
        className={`btn btn-small ${action === 'cancel' ? 'btn-danger' : 'btn-secondary'}`}
        onClick={() => setAsking({ action, target: t })}
        data-testid={`${testPrefix}-${action}`}
      >
        {action === 'cancel' && <SvgIcon name="stop" size={12} />}
        {action === 'retry' && <SvgIcon name="retry" size={12} />}
        {ACTION_TITLES[action]}
      </button>
    ));

  return (
    <>
      {(count > 0 || filter) && (
        <div className="bulk-bar" role="toolbar" aria-label="Bulk actions" data-testid="bulk-bar">
          {count > 0 ? (
            <>
              <strong data-testid="bulk-count">{count} selected</strong>
              {actionButtons(target, 'bulk')}
              <button
                type="button"
                className="link-button small"
                onClick={() => onSelectedChange(new Set())}
                data-testid="bulk-clear"
              >
                Clear selection
              </button>
            </>
          ) : (
            <span className="muted small">Tick tasks to act on them together, or:</span>
          )}
          {filter && (
            <span className="bulk-filter">
              <span className="muted small">
                All {matching ?? '…'} matching <em>{describeFilter(filter)}</em>:
              </span>
              {actionButtons({ kind: 'filter', filter, total: matching ?? 0 }, 'bulk-all')}
            </span>
          )}
        </div>
      )}

      {result && (
        <BulkResultPanel action={result.action} result={result.result} onClose={() => setResult(undefined)} />
      )}

      {asking && (
        <BulkDialog
          action={asking.action}
          target={asking.target}
          onClose={(answer) => {
            setAsking(undefined);
            if (!answer) return;
            setResult({ action: asking.action, result: answer });
            if (asking.target.kind === 'ids') onSelectedChange(afterBulk(selected, answer));
          }}
        />
      )}
    </>
  );
}

function BulkDialog({
  action,
  target,
  onClose,
}: {
  action: BulkAction;
  target: Target;
  onClose: (result: BulkResult | undefined) => void;
}) {
  const { api, notices } = useApp();
  const ids = useId();
  const [priority, setPriority] = useState('');
  const [reason, setReason] = useState('');
  const { errors, failure, busy, run } = useFormDialog();
  const what =
    target.kind === 'ids'
      ? `${target.ids.length} selected task${target.ids.length === 1 ? '' : 's'}`
      : `all ${target.total} task${target.total === 1 ? '' : 's'} matching ${describeFilter(target.filter)}`;

  const submit = () => {
    const built = buildBulkRequest(
      action,
      target.kind === 'ids' ? { ids: target.ids } : { filter: target.filter },
      { priority, reason },
    );
    return run(built, `Bulk ${action} failed`, async ({ selection, extra }) => {
      const answer = await coordApi.bulk(api, action, selection, extra);
      const summary = summarizeBulkResult(action, answer);
      notices.action(`Bulk ${action}: ${summary.title}`);
      notices.toast(summary.tone === 'ok' ? 'success' : 'warning', summary.title);
      onClose(answer);
    });
  };

  return (
    <FormDialog
      title={`${DIALOG_TITLES[action]} ${what}?`}
      submitLabel={ACTION_TITLES[action]}
      danger={action === 'cancel'}
      busy={busy}
      failure={failure ?? errors.selection}
      onSubmit={() => void submit()}
      onCancel={() => onClose(undefined)}
      testId="bulk-dialog"
    >
      <p>
        {action === 'cancel' &&
          'Each task that has not ended is canceled (a running one is aborted), with the dependents that can no longer run.'}
        {action === 'retry' && 'Each failed or canceled task gets a new attempt.'}
        {action === 'reprioritize' && 'Tasks that have not started take the new priority.'} Tasks this does
        not apply to are listed afterwards with the reason.
      </p>
      {action === 'reprioritize' && (
        <DialogField
          id={`${ids}-priority`}
          label="Priority"
          variant="number"
          value={priority}
          onChange={setPriority}
          placeholder="-1000 … 1000"
          error={errors.priority}
          testId="bulk-priority"
          errorTestId="bulk-field-error-priority"
        />
      )}
      {action === 'cancel' && (
        <DialogField
          id={`${ids}-reason`}
          label="Reason"
          optional="optional"
          value={reason}
          onChange={setReason}
          placeholder="e.g. superseded by a new run"
          error={errors.reason}
          testId="bulk-reason"
          errorTestId="bulk-field-error-reason"
        />
      )}
    </FormDialog>
  );
}

/** The answer of a bulk action: the count done, then each refused task with its reason. */
export function BulkResultPanel({
  action,
  result,
  onClose,
}: {
  action: BulkAction;
  result: BulkResult;
  onClose: () => void;
}) {
  const summary = summarizeBulkResult(action, result);
  return (
    <section
      className={`callout bulk-result bulk-result-${summary.tone}`}
      role="status"
      data-testid="bulk-result"
      data-done={result.done.length}
      data-refused={result.refused.length}
    >
      <div className="bulk-result-head">
        <strong data-testid="bulk-result-title">{summary.title}</strong>
        <button type="button" className="btn btn-ghost btn-icon" onClick={onClose} aria-label="Close">
          <SvgIcon name="close" size={14} />
        </button>
      </div>
      {summary.refused.length > 0 && (
        <ul className="bulk-refused" data-testid="bulk-refused">
          {summary.refused.slice(0, 200).map((r) => (
            <li key={r.id} data-testid={`bulk-refused-${r.id}`}>
              <Link to={taskPath(r.id)} className="mono">
                {r.id}
              </Link>{' '}
              <span className="pill pill-off">{r.code}</span> <span className="muted">{r.message}</span>
            </li>
          ))}
          {summary.refused.length > 200 && <li className="muted">and {summary.refused.length - 200} more</li>}
        </ul>
      )}
    </section>
  );
}
