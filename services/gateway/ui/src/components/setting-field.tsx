import { useId } from 'react';
import {
  type DraftValue,
  type FieldDescriptor,
  formatActor,
  formatValue,
  type RemoteChange,
  sameValue,
} from '../settings-form';
import { SvgIcon } from './icons';

export interface SettingFieldProps {
  field: FieldDescriptor;
  value: DraftValue;
  serverValue: unknown;
  dirty: boolean;
  clientError: string | undefined;
  serverError: string | undefined;
  remote: RemoteChange | undefined;
  busy: boolean;
  onChange: (draft: DraftValue) => void;
  onReset: () => void;
  onUseRemote: () => void;
}

/** One setting: label and help on the left, the control on the right, errors underneath. */
export function SettingField(props: SettingFieldProps) {
  const { field, serverValue, dirty, clientError, serverError, remote, busy } = props;
  const id = `setting-${field.key}`;
  const helpId = useId();
  const errorId = useId();
  const hasError = clientError !== undefined || serverError !== undefined;
  const atDefault = field.default === undefined || sameValue(serverValue, field.default);
  const describedBy = [helpId, hasError ? errorId : undefined].filter(Boolean).join(' ');

  return (
    <div
      className={`setting ${dirty ? 'is-dirty' : ''} ${hasError ? 'has-error' : ''} ${remote ? 'is-remote' : ''}`}
      data-testid={`setting-${field.key}`}
      data-dirty={dirty || undefined}
      data-remote={remote ? true : undefined}
    >
      <div className="setting-info">
        <div className="setting-title">
          <label htmlFor={id}>{field.title}</label>
          {dirty && <span className="badge badge-dirty">modified</span>}
          {remote && (
            <span className="badge badge-remote" data-testid={`remote-badge-${field.key}`}>
              changed remotely
            </span>
          )}
        </div>
        <div className="setting-help" id={helpId}>
          {field.description && <p>{field.description}</p>}
          <p className="setting-meta">
            <code>{field.key}</code>
            {field.default !== undefined && (
              <>
                {' · '}default <strong>{displayNumber(field.default)}</strong>
              </>
            )}
            {rangeText(field) && <> · range {rangeText(field)}</>}
          </p>
        </div>
      </div>

      <div className="setting-control">
        <Control {...props} id={id} describedBy={describedBy} invalid={hasError} />
        <button
          type="button"
          className="btn btn-ghost btn-icon btn-small"
          onClick={props.onReset}
          disabled={busy || atDefault}
          title={atDefault ? 'At its default' : `Reset to default (${displayNumber(field.default)})`}
          aria-label={`Reset ${field.title} to default`}
          data-testid={`reset-${field.key}`}
        >
          <SvgIcon name="undo" size={14} />
        </button>
      </div>

      {remote && (
        <p className="setting-remote" role="status">
          {formatActor(remote.actor)} changed this to <strong>{formatValue(remote.to)}</strong> while you were
          editing; your value is kept.{' '}
          <button
            type="button"
            className="link-button"
            onClick={props.onUseRemote}
            data-testid={`use-remote-${field.key}`}
          >
            Use {formatValue(remote.to)}
          </button>
        </p>
      )}
      {hasError && (
        <p className="field-error" id={errorId} role="alert" data-testid={`field-error-${field.key}`}>
          {clientError && <span data-source="client">{clientError}</span>}
          {clientError && serverError && ' · '}
          {serverError && (
            <span data-source="server" data-testid={`server-error-${field.key}`}>
              Server: {serverError}
            </span>
          )}
        </p>
      )}
    </div>
  );
}

function Control(props: SettingFieldProps & { id: string; describedBy: string; invalid: boolean }) {
  const { field, value, id, describedBy, invalid, onChange } = props;
  const common = {
    id,
    name: field.key,
    'aria-describedby': describedBy,
    'aria-invalid': invalid || undefined,
    'data-testid': `input-${field.key}`,
  };
  switch (field.kind) {
    case 'boolean':
      return (
        <span className="switch">
          <input
            {...common}
            type="checkbox"
            role="switch"
            aria-checked={value === true}
            checked={value === true}
            onChange={(e) => onChange(e.target.checked)}
          />
          <span className="switch-track" aria-hidden="true" />
          <span className="switch-text">{value === true ? 'On' : 'Off'}</span>
        </span>
      );
    case 'enum':
      return (
        <select
          {...common}
          className="input select"
          value={String(value)}
          onChange={(e) => onChange(e.target.value)}
        >
          {field.options?.map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      );
    case 'string':
      return (
        <input
          {...common}
          className="input"
          type="text"
          value={String(value)}
          onChange={(e) => onChange(e.target.value)}
        />
      );
    case 'integer':
    case 'number':
      return (
        <input
          {...common}
          className="input input-number"
          type="number"
          inputMode={field.kind === 'integer' ? 'numeric' : 'decimal'}
          min={field.minimum}
          max={field.maximum}
          step={field.step}
          value={String(value)}
          onChange={(e) => onChange(e.target.value)}
        />
      );
  }
}

/** Numbers with thousands separators (100,000); everything else as formatValue shows it. */
function displayNumber(value: unknown): string {
  return typeof value === 'number'
    ? value.toLocaleString('en-US', { maximumFractionDigits: 6 })
    : formatValue(value);
}

function rangeText(field: FieldDescriptor): string | undefined {
  const { minimum: min, maximum: max } = field;
  const fmt = displayNumber;
  if (min !== undefined && max !== undefined) return `${fmt(min)} – ${fmt(max)}`;
  if (min !== undefined) return `≥ ${fmt(min)}`;
  if (max !== undefined) return `≤ ${fmt(max)}`;
  return undefined;
}
