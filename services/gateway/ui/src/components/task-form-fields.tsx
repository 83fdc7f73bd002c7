import { type ReactNode, useId, useState } from 'react';
import {
  AGENT_MODELS,
  type AgentModel,
  badItems,
  commandLine,
  errorsBySlot,
  type FieldErrors,
  type FormSlot,
  type KindChoice,
  parseJsonObject,
  type TaskDraft,
  visibleSlots,
} from '../task-form';
import { ChipInput } from './chip-input';
import { SvgIcon } from './icons';
import { TaskPicker } from './task-picker';

/**
 * The inputs of a task: title, description, kind and its payload, priority, labels and (when
 * creating) dependencies. Errors, the client's or the server's, show under the input they name.
 */
export function TaskFormFields(props: {
  draft: TaskDraft;
  onChange: (draft: TaskDraft) => void;
  errors: FieldErrors;
  mode: 'create' | 'edit';
  disabled?: boolean;
  /** Titles of tasks picked as dependencies, to label their chips. */
  depTitles?: ReadonlyMap<string, string>;
  onDepPicked?: (id: string, title: string) => void;
}) {
  const { draft, onChange, errors, mode, disabled } = props;
  const { bySlot, other } = errorsBySlot(errors, visibleSlots(draft.kind, mode));
  const set = <K extends keyof TaskDraft>(key: K, value: TaskDraft[K]) =>
    onChange({ ...draft, [key]: value });
  const ids = useId();
  const idOf = (slot: string) => `${ids}-${slot}`;
  const error = (slot: FormSlot) => (
    <FieldError slot={slot} message={bySlot[slot]} id={`${idOf(slot)}-error`} />
  );
  const invalid = (slot: FormSlot) => (bySlot[slot] ? true : undefined);
  const described = (slot: FormSlot) => (bySlot[slot] ? `${idOf(slot)}-error` : undefined);

  return (
    <fieldset className="task-fields" disabled={disabled}>
      <legend className="sr-only">Task</legend>
      <Field label="Title" htmlFor={idOf('title')} wide>
        <input
          id={idOf('title')}
          name="title"
          className="input"
          value={draft.title}
          onChange={(e) => set('title', e.target.value)}
          aria-invalid={invalid('title')}
          aria-describedby={described('title')}
          placeholder="What this task does"
          maxLength={200}
          data-testid="input-title"
          autoComplete="off"
        />
        {error('title')}
      </Field>

      <Field label="Description" htmlFor={idOf('description')} wide optional>
        <textarea
          id={idOf('description')}
          name="description"
          className="input textarea"
          rows={2}
          value={draft.description}
          onChange={(e) => set('description', e.target.value)}
          aria-invalid={invalid('description')}
          aria-describedby={described('description')}
          data-testid="input-description"
        />
        {error('description')}
      </Field>

      <Field label="Kind" wide>
        <div className="kind-row">
          <div className="segmented">
            {(['exec', 'agent', 'custom'] as KindChoice[]).map((kind) => (
              <button
                key={kind}
                type="button"
                aria-pressed={draft.kind === kind}
                className={`segment ${draft.kind === kind ? 'is-on' : ''}`}
                onClick={() => set('kind', kind)}
                disabled={disabled || mode === 'edit'}
                data-testid={`kind-${kind}`}
              >
                {kind === 'exec' ? 'Command' : kind === 'agent' ? 'Agent' : 'Custom'}
              </button>
            ))}
          </div>
          {draft.kind === 'custom' && (
            <input
              name="kind"
              className="input input-mono kind-name"
              value={draft.customKind}
              onChange={(e) => set('customKind', e.target.value)}
              placeholder="kind name, e.g. render"
              aria-label="Custom kind"
              aria-invalid={invalid('kind')}
              disabled={disabled || mode === 'edit'}
              data-testid="input-kind"
              spellCheck={false}
            />
          )}
        </div>
        <p className="help">
          {draft.kind === 'exec'
            ? 'exec: the worker runs a command.'
            : draft.kind === 'agent'
              ? 'agent: an AI-agent session works on a prompt.'
              : 'Any other kind: workers that declare it receive the JSON payload as is.'}
          {mode === 'edit' && ' The kind cannot change after creation.'}
        </p>
        {error('kind')}
      </Field>

      {draft.kind === 'exec' && (
        <ExecFields {...props} set={set} idOf={idOf} error={error} invalid={invalid} />
      )}
      {draft.kind === 'agent' && (
        <AgentFields {...props} set={set} idOf={idOf} error={error} invalid={invalid} />
      )}
      {draft.kind === 'custom' && <JsonField draft={draft} set={set} idOf={idOf} error={error} />}
      {draft.kind !== 'custom' && error('payload')}

      <Field label="Priority" htmlFor={idOf('priority')}>
        <input
          id={idOf('priority')}
          name="priority"
          className="input input-number"
          type="number"
          min={-1000}
          max={1000}
          step={1}
          value={draft.priority}
          onChange={(e) => set('priority', e.target.value)}
          aria-invalid={invalid('priority')}
          aria-describedby={described('priority')}
          data-testid="input-priority"
        />
        <p className="help">Higher runs first; -1000 to 1000.</p>
        {error('priority')}
      </Field>

      <Field label="Labels" htmlFor={idOf('labels')} optional>
        <ChipInput
          id={idOf('labels')}
          name="labels"
          values={draft.labels}
          onChange={(labels) => set('labels', labels)}
          placeholder="gpu, region=eu"
          disabled={disabled}
          invalid={badItems(errors, 'labels')}
          describedBy={described('labels')}
        />
        <p className="help">Only workers with every label take the task. Enter or comma adds one.</p>
        {error('labels')}
      </Field>

      {mode === 'create' && (
        <Field label="Waits for" optional wide>
          <div className="chip-input" data-testid="chips-deps">
            {draft.deps.length === 0 && (
              <span className="muted small">No dependencies: it can start at once.</span>
            )}
            {draft.deps.map((dep, i) => (
              <span
                key={dep}
                className={`chip ${badItems(errors, 'deps').has(i) ? 'chip-invalid' : ''}`}
                data-testid={`chip-deps-${dep}`}
                title={props.depTitles?.get(dep)}
              >
                <span className="mono">{dep}</span>
                {props.depTitles?.get(dep) && <span className="chip-sub">{props.depTitles.get(dep)}</span>}
                <button
                  type="button"
                  className="chip-remove"
                  onClick={() =>
                    set(
                      'deps',
                      draft.deps.filter((d) => d !== dep),
                    )
                  }
                  aria-label={`Remove dependency ${dep}`}
                >
                  <SvgIcon name="close" size={12} />
                </button>
              </span>
            ))}
          </div>
          <TaskPicker
            exclude={new Set(draft.deps)}
            disabled={disabled}
            onPick={(task) => {
              props.onDepPicked?.(task.id, task.title);
              set('deps', [...draft.deps, task.id]);
            }}
            testId="deps-picker"
          />
          <p className="help">The new task starts only after every task here is complete.</p>
          {error('deps')}
        </Field>
      )}

      {other.length > 0 && (
        <p className="callout callout-error form-other" role="alert" data-testid="field-error-other">
          {other.join(' · ')}
        </p>
      )}
    </fieldset>
  );
}

type Setter = <K extends keyof TaskDraft>(key: K, value: TaskDraft[K]) => void;
interface SectionProps {
  draft: TaskDraft;
  disabled?: boolean;
  set: Setter;
  idOf: (slot: string) => string;
  error: (slot: FormSlot) => ReactNode;
  invalid: (slot: FormSlot) => true | undefined;
}

function ExecFields({ draft, set, idOf, error, invalid, disabled }: SectionProps) {
  const args = draft.args;
  const env = draft.env;
  return (
    <>
      <Field label="Command" htmlFor={idOf('command')} wide>
        <input
          id={idOf('command')}
          name="payload.command"
          className="input input-mono"
          value={draft.command}
          onChange={(e) => set('command', e.target.value)}
          aria-invalid={invalid('payload.command')}
          placeholder="echo"
          data-testid="input-payload.command"
          spellCheck={false}
          autoComplete="off"
        />
        {error('payload.command')}
      </Field>

      <Field label="Arguments" optional wide>
        <div className="rows">
          {args.map((arg, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional; an argument may repeat
            <div className="row" key={i}>
              <span className="row-index mono muted">{i + 1}</span>
              <input
                className="input input-mono"
                name={`payload.args.${i}`}
                value={arg}
                onChange={(e) =>
                  set(
                    'args',
                    args.map((a, j) => (j === i ? e.target.value : a)),
                  )
                }
                aria-label={`Argument ${i + 1}`}
                data-testid={`input-payload.args.${i}`}
                spellCheck={false}
                autoComplete="off"
              />
              <RemoveRow
                label={`Remove argument ${i + 1}`}
                onClick={() =>
                  set(
                    'args',
                    args.filter((_, j) => j !== i),
                  )
                }
              />
            </div>
          ))}
          <button
            type="button"
            className="btn btn-ghost btn-small add-row"
            onClick={() => set('args', [...args, ''])}
            disabled={disabled}
            data-testid="add-arg"
          >
            <SvgIcon name="plus" size={14} /> Add argument
          </button>
        </div>
        {draft.command.trim() && (
          <p className="help mono command-preview" data-testid="command-preview">
            $ {commandLine(draft.command, args)}
          </p>
        )}
        {error('payload.args')}
      </Field>

      <Field label="Environment" optional wide>
        <div className="rows">
          {env.map((pair, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional while a name is typed
            <div className="row" key={i}>
              <input
                className="input input-mono env-key"
                name={`payload.env.${i}.key`}
                value={pair.key}
                placeholder="NAME"
                onChange={(e) =>
                  set(
                    'env',
                    env.map((p, j) => (j === i ? { ...p, key: e.target.value } : p)),
                  )
                }
                aria-label={`Variable ${i + 1} name`}
                data-testid={`input-payload.env.${i}.key`}
                spellCheck={false}
                autoComplete="off"
              />
              <span className="muted">=</span>
              <input
                className="input input-mono"
                name={`payload.env.${i}.value`}
                value={pair.value}
                placeholder="value"
                onChange={(e) =>
                  set(
                    'env',
                    env.map((p, j) => (j === i ? { ...p, value: e.target.value } : p)),
                  )
                }
                aria-label={`Variable ${i + 1} value`}
                data-testid={`input-payload.env.${i}.value`}
                spellCheck={false}
                autoComplete="off"
              />
              <RemoveRow
                label={`Remove variable ${i + 1}`}
                onClick={() =>
                  set(
                    'env',
                    env.filter((_, j) => j !== i),
                  )
                }
              />
            </div>
          ))}
          <button
            type="button"
            className="btn btn-ghost btn-small add-row"
            onClick={() => set('env', [...env, { key: '', value: '' }])}
            disabled={disabled}
            data-testid="add-env"
          >
            <SvgIcon name="plus" size={14} /> Add variable
          </button>
        </div>
        {error('payload.env')}
      </Field>

      <Field label="Working directory" htmlFor={idOf('cwd')} optional>
        <input
          id={idOf('cwd')}
          name="payload.cwd"
          className="input input-mono"
          value={draft.cwd}
          onChange={(e) => set('cwd', e.target.value)}
          aria-invalid={invalid('payload.cwd')}
          placeholder="the worker's default"
          data-testid="input-payload.cwd"
          spellCheck={false}
        />
        {error('payload.cwd')}
      </Field>

      <Field label="Timeout (seconds)" htmlFor={idOf('timeout')} optional>
        <input
          id={idOf('timeout')}
          name="payload.timeoutSeconds"
          className="input input-number"
          type="number"
          min={1}
          step={1}
          value={draft.timeout}
          onChange={(e) => set('timeout', e.target.value)}
          aria-invalid={invalid('payload.timeoutSeconds')}
          placeholder="none"
          data-testid="input-payload.timeoutSeconds"
        />
        {error('payload.timeoutSeconds')}
      </Field>
    </>
  );
}

function AgentFields({ draft, set, idOf, error, invalid }: SectionProps) {
  return (
    <>
      <Field label="Prompt" htmlFor={idOf('prompt')} wide>
        <textarea
          id={idOf('prompt')}
          name="payload.prompt"
          className="input textarea"
          rows={5}
          value={draft.prompt}
          onChange={(e) => set('prompt', e.target.value)}
          aria-invalid={invalid('payload.prompt')}
          placeholder="What the agent should do"
          data-testid="input-payload.prompt"
        />
        {error('payload.prompt')}
      </Field>
      <Field label="Model" htmlFor={idOf('model')} optional>
        <select
          id={idOf('model')}
          name="payload.model"
          className="input select"
          value={draft.model}
          onChange={(e) => set('model', e.target.value as AgentModel | '')}
          data-testid="input-payload.model"
        >
          <option value="">default</option>
          {AGENT_MODELS.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
        {error('payload.model')}
      </Field>
      <Field label="Max turns" htmlFor={idOf('maxTurns')} optional>
        <input
          id={idOf('maxTurns')}
          name="payload.maxTurns"
          className="input input-number"
          type="number"
          min={1}
          max={200}
          value={draft.maxTurns}
          onChange={(e) => set('maxTurns', e.target.value)}
          aria-invalid={invalid('payload.maxTurns')}
          placeholder="default"
          data-testid="input-payload.maxTurns"
        />
        {error('payload.maxTurns')}
      </Field>
      <Field label="Repository" htmlFor={idOf('repo')} optional wide>
        <input
          id={idOf('repo')}
          name="payload.repo"
          className="input input-mono"
          value={draft.repo}
          onChange={(e) => set('repo', e.target.value)}
          aria-invalid={invalid('payload.repo')}
          placeholder="git URL or path"
          data-testid="input-payload.repo"
          spellCheck={false}
        />
        {error('payload.repo')}
      </Field>
    </>
  );
}

function JsonField({ draft, set, idOf, error }: Pick<SectionProps, 'draft' | 'set' | 'idOf' | 'error'>) {
  const [touched, setTouched] = useState(false);
  const parsed = parseJsonObject(draft.payloadJson.trim() === '' ? '{}' : draft.payloadJson);
  const live = touched && !parsed.ok ? parsed.error : undefined;
  return (
    <Field label="Payload (JSON object)" htmlFor={idOf('payload')} wide>
      <textarea
        id={idOf('payload')}
        name="payload"
        className="input textarea input-mono json-editor"
        rows={8}
        value={draft.payloadJson}
        onChange={(e) => {
          setTouched(true);
          set('payloadJson', e.target.value);
        }}
        aria-invalid={live ? true : undefined}
        spellCheck={false}
        data-testid="input-payload"
      />
      <div className="json-status">
        {parsed.ok ? (
          <span className="json-ok small" data-testid="json-valid">
            Valid JSON · {Object.keys(parsed.value).length} key
            {Object.keys(parsed.value).length === 1 ? '' : 's'}
          </span>
        ) : live ? (
          <span className="field-error" data-testid="json-invalid">
            {live}
          </span>
        ) : null}
        {parsed.ok && (
          <button
            type="button"
            className="link-button small"
            onClick={() => set('payloadJson', JSON.stringify(parsed.value, null, 2))}
          >
            Format
          </button>
        )}
      </div>
      {error('payload')}
    </Field>
  );
}

function Field(props: {
  label: string;
  htmlFor?: string;
  optional?: boolean;
  wide?: boolean;
  children: ReactNode;
}) {
  return (
    <div className={`form-field ${props.wide ? 'form-field-wide' : ''}`}>
      {props.htmlFor ? (
        <label className="label" htmlFor={props.htmlFor}>
          {props.label}
          {props.optional && <span className="optional"> optional</span>}
        </label>
      ) : (
        <span className="label">
          {props.label}
          {props.optional && <span className="optional"> optional</span>}
        </span>
      )}
      {props.children}
    </div>
  );
}

function FieldError({ slot, message, id }: { slot: string; message: string | undefined; id: string }) {
  if (!message) return null;
  return (
    <p className="field-error" id={id} role="alert" data-testid={`field-error-${slot}`}>
      {message}
    </p>
  );
}

function RemoveRow({ label, onClick }: { label: string; onClick: () => void }) {
  return (
    <button
      type="button"
      className="btn btn-ghost btn-icon btn-small"
      onClick={onClick}
      aria-label={label}
      title={label}
    >
      <SvgIcon name="close" size={14} />
    </button>
  );
}
