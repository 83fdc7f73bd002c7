import type { TaskSummary } from '@jousting/contracts';
import { useEffect, useId, useRef, useState } from 'react';
import { errorText } from '../api';
import { useApp } from '../context';
import { SvgIcon } from './icons';
import { StatusBadge } from './status-badge';

/**
 * Finds a task by text (id, title or description, searched by the server) and hands the chosen one
 * to `onPick`. Tasks in `exclude` are not offered.
 */
export function TaskPicker(props: {
  onPick: (task: TaskSummary) => void;
  exclude?: ReadonlySet<string>;
  placeholder?: string;
  disabled?: boolean;
  testId?: string;
}) {
  const { onPick, exclude, placeholder = 'Search tasks by id or title…', disabled } = props;
  const testId = props.testId ?? 'task-picker';
  const { api } = useApp();
  const [text, setText] = useState('');
  const [open, setOpen] = useState(false);
  const [results, setResults] = useState<TaskSummary[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [searching, setSearching] = useState(false);
  const listId = useId();
  const asked = useRef(0);

  useEffect(() => {
    if (!open) return;
    const ask = ++asked.current;
    setSearching(true);
    const timer = setTimeout(() => {
      api.listTasks({ q: text.trim(), limit: 12 }).then(
        (page) => {
          if (ask !== asked.current) return;
          setResults(page.items);
          setError(undefined);
          setSearching(false);
        },
        (err: unknown) => {
          if (ask !== asked.current) return;
          setError(errorText(err));
          setSearching(false);
        },
      );
    }, 200);
    return () => clearTimeout(timer);
  }, [api, text, open]);

  const shown = results.filter((t) => !exclude?.has(t.id));
  const pick = (task: TaskSummary) => {
    onPick(task);
    setText('');
    setOpen(false);
  };
  return (
    <div className="picker" data-testid={testId}>
      <div className="picker-box">
        <SvgIcon name="search" size={14} />
        <input
          className="picker-input"
          value={text}
          placeholder={placeholder}
          disabled={disabled}
          onChange={(e) => {
            setText(e.target.value);
            setOpen(true);
          }}
          onFocus={() => setOpen(true)}
          onBlur={() => setTimeout(() => setOpen(false), 150)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') setOpen(false);
            if (e.key === 'Enter') {
              e.preventDefault();
              const first = shown[0];
              if (first) pick(first);
            }
          }}
          role="combobox"
          aria-expanded={open}
          aria-controls={listId}
          aria-label="Find a task"
          data-testid={`${testId}-input`}
          autoComplete="off"
          spellCheck={false}
        />
      </div>
      {open && (
        <ul className="picker-list" id={listId}>
          {error ? (
            <li className="picker-empty field-error">{error}</li>
          ) : shown.length === 0 ? (
            <li className="picker-empty muted">{searching ? 'Searching…' : 'No matching task'}</li>
          ) : (
            shown.map((task) => (
              <li key={task.id}>
                <button
                  type="button"
                  className="picker-option"
                  onMouseDown={(e) => e.preventDefault()}
                  onClick={() => pick(task)}
                  data-testid={`${testId}-option-${task.id}`}
                >
                  <span className="picker-title">{task.title}</span>
                  <span className="mono muted small">{task.id}</span>
                  <StatusBadge status={task.status} />
                </button>
              </li>
            ))
          )}
        </ul>
      )}
    </div>
  );
}
