import { type KeyboardEvent, useId, useState } from 'react';
import { addChips } from '../task-form';
import { SvgIcon } from './icons';

/**
 * A list of short values (labels) as removable chips, plus a text box: Enter, a comma or leaving the
 * box turns what was typed into chips; Backspace in an empty box removes the last one.
 */
export function ChipInput(props: {
  id?: string;
  name: string;
  values: readonly string[];
  onChange: (values: string[]) => void;
  placeholder?: string;
  disabled?: boolean;
  invalid?: ReadonlySet<number>;
  describedBy?: string;
}) {
  const { name, values, onChange, placeholder, disabled, invalid, describedBy } = props;
  const [typed, setTyped] = useState('');
  const fallbackId = useId();
  const id = props.id ?? fallbackId;
  const commit = () => {
    if (typed.trim() === '') return;
    onChange(addChips(values, typed));
    setTyped('');
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter' || e.key === ',') {
      e.preventDefault();
      commit();
    } else if (e.key === 'Backspace' && typed === '' && values.length > 0) {
      onChange(values.slice(0, -1));
    }
  };
  return (
    <div className={`chip-input ${disabled ? 'is-disabled' : ''}`} data-testid={`chips-${name}`}>
      {values.map((value, i) => (
        <span
          key={value}
          className={`chip ${invalid?.has(i) ? 'chip-invalid' : ''}`}
          data-testid={`chip-${name}-${value}`}
        >
          {value}
          {!disabled && (
            <button
              type="button"
              className="chip-remove"
              onClick={() => onChange(values.filter((v) => v !== value))}
              aria-label={`Remove ${value}`}
            >
              <SvgIcon name="close" size={12} />
            </button>
          )}
        </span>
      ))}
      <input
        id={id}
        name={name}
        className="chip-text"
        value={typed}
        placeholder={values.length === 0 ? placeholder : ''}
        onChange={(e) => {
          const value = e.target.value;
          if (value.includes(',')) {
            onChange(addChips(values, value));
            setTyped('');
          } else setTyped(value);
        }}
        onKeyDown={onKeyDown}
        onBlur={commit}
        disabled={disabled}
        aria-describedby={describedBy}
        data-testid={`input-${name}`}
        autoComplete="off"
        spellCheck={false}
      />
    </div>
  );
}
