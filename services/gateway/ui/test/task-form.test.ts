import { describe, expect, it } from 'vitest';
import {
  addChips,
  badItems,
  buildNewTask,
  buildTaskPatch,
  commandLine,
  draftFromTask,
  emptyDraft,
  errorsBySlot,
  parseJsonObject,
  serverFieldErrors,
  slotFor,
  type TaskDraft,
  visibleSlots,
} from '../src/task-form';

const draft = (patch: Partial<TaskDraft>): TaskDraft => ({ ...emptyDraft(), ...patch });
const errorsOf = (d: TaskDraft) => {
  const built = buildNewTask(d);
  return built.ok ? {} : built.errors;
};

describe('buildNewTask', () => {
  it('builds an exec task from the structured fields', () => {
    const built = buildNewTask(
      draft({
        title: '  Say hello ',
        command: 'echo',
        args: ['hello', '', 'world'],
        env: [
          { key: 'GREETING', value: 'hi' },
          { key: '', value: '' },
        ],
        cwd: '/tmp',
        timeout: '30',
        priority: '5',
        labels: ['gpu', 'region=eu'],
        deps: ['build-1'],
      }),
    );
    expect(built).toEqual({
      ok: true,
      value: {
        title: 'Say hello',
        description: '',
        kind: 'exec',
        payload: {
          command: 'echo',
          args: ['hello', 'world'],
          env: { GREETING: 'hi' },
          cwd: '/tmp',
          timeoutSeconds: 30,
        },
        priority: 5,
        labels: ['gpu', 'region=eu'],
        deps: ['build-1'],
      },
    });
  });

  it('leaves out the optional exec fields that are empty', () => {
    const built = buildNewTask(draft({ title: 'x', command: 'true' }));
    expect(built.ok && built.value.payload).toEqual({ command: 'true' });
    expect(built.ok && built.value.priority).toBe(0);
  });

  it('names every bad field by the path the server uses', () => {
    expect(
      errorsOf(
        draft({
          title: '   ',
          command: '',
          env: [
            { key: '1BAD', value: 'x' },
            { key: '', value: 'orphan' },
          ],
          timeout: '0',
          priority: '1.5',
          labels: ['ok', 'not ok'],
          deps: ['fine', 'bad id!'],
        }),
      ),
    ).toEqual({
      title: 'Required',
      'payload.command': 'Required: the program to run, e.g. echo',
      'payload.env.1BAD': 'Letters, digits and "_", not starting with a digit',
      'payload.env': 'Every value needs a variable name',
      'payload.timeoutSeconds': 'A whole number of seconds from 1 to 604800',
      priority: 'A whole number from -1000 to 1000',
      'labels.1': '"not ok" is not a label like "gpu" or "region=eu"',
      'deps.1': '"bad id!" is not a task id',
    });
  });

  it('refuses a variable set twice', () => {
    const errors = errorsOf(
      draft({
        title: 't',
        command: 'env',
        env: [
          { key: 'A', value: '1' },
          { key: 'A', value: '2' },
        ],
      }),
    );
    expect(errors['payload.env.A']).toBe('Set twice');
  });

  it('builds an agent task from the prompt and its options', () => {
    const built = buildNewTask(
      draft({ title: 'Review', kind: 'agent', prompt: 'Review PR 7', model: 'opus', maxTurns: '12' }),
    );
    expect(built.ok && built.value).toMatchObject({
      kind: 'agent',
      payload: { prompt: 'Review PR 7', model: 'opus', maxTurns: 12 },
    });
    expect(errorsOf(draft({ title: 'x', kind: 'agent', prompt: ' ', maxTurns: '500' }))).toEqual({
      'payload.prompt': 'Required: what the agent should do',
      'payload.maxTurns': 'A whole number from 1 to 200',
    });
  });

  it('takes a custom kind with any JSON object as its payload', () => {
    const built = buildNewTask(
      draft({
        title: 'Render',
        kind: 'custom',
        customKind: 'render',
        payloadJson: '{"scene": "a", "frames": [1, 2]}',
      }),
    );
    expect(built.ok && built.value).toMatchObject({
      kind: 'render',
      payload: { scene: 'a', frames: [1, 2] },
    });
  });

  it('explains a custom payload that is not a JSON object, and a bad kind name', () => {
    expect(
      errorsOf(draft({ title: 'x', kind: 'custom', customKind: 'Render!', payloadJson: '[1, 2]' })),
    ).toEqual({
      kind: 'Lowercase letters, digits and "-", starting with a letter',
      payload: 'Must be a JSON object, like {"key": "value"}',
    });
    const syntax = errorsOf(draft({ title: 'x', kind: 'custom', customKind: 'r', payloadJson: '{"a": }' }));
    expect(syntax.payload).toMatch(/^Not valid JSON: /);
    expect(errorsOf(draft({ title: 'x', kind: 'custom', customKind: '' })).kind).toBe(
      'Name the kind, e.g. "render"',
    );
  });

  it('refuses a payload over 64 KiB', () => {
    const errors = errorsOf(
      draft({
        title: 'x',
        kind: 'custom',
        customKind: 'big',
        payloadJson: JSON.stringify({ a: 'x'.repeat(70_000) }),
      }),
    );
    expect(errors.payload).toBe('At most 64 KiB as JSON');
  });
});

describe('buildTaskPatch', () => {
  const original = {
    title: 'Say hello',
    description: 'greets',
    kind: 'exec',
    payload: { command: 'echo', args: ['hello'] },
    priority: 0,
    labels: ['gpu'],
    deps: ['x'],
  };

  it('sends only what changed', () => {
    const d = draftFromTask(original);
    expect(buildTaskPatch(d, original)).toEqual({ ok: true, value: {} });
    const built = buildTaskPatch({ ...d, title: 'Say hi', args: ['hi'], priority: '3' }, original);
    expect(built).toEqual({
      ok: true,
      value: { title: 'Say hi', priority: 3, payload: { command: 'echo', args: ['hi'] } },
    });
  });

  it('compares payloads whatever their key order', () => {
    const reordered = { ...original, payload: { args: ['hello'], command: 'echo' } };
    expect(buildTaskPatch(draftFromTask(original), reordered)).toEqual({ ok: true, value: {} });
  });
});

describe('draftFromTask', () => {
  it('fills the structured exec fields from the payload', () => {
    const d = draftFromTask({
      title: 't',
      description: '',
      kind: 'exec',
      payload: { command: 'make', args: ['-j4'], env: { CC: 'clang' }, timeoutSeconds: 60 },
      priority: -2,
      labels: [],
      deps: [],
    });
    expect(d).toMatchObject({
      kind: 'exec',
      command: 'make',
      args: ['-j4'],
      env: [{ key: 'CC', value: 'clang' }],
      timeout: '60',
      priority: '-2',
    });
  });

  it('shows an unknown kind, or a payload the form cannot represent, as JSON', () => {
    const d = draftFromTask({
      title: 't',
      description: '',
      kind: 'exec',
      payload: { command: 'x', extra: 1 },
      priority: 0,
      labels: [],
      deps: [],
    });
    expect(d.kind).toBe('custom');
    expect(d.customKind).toBe('exec');
    expect(JSON.parse(d.payloadJson)).toEqual({ command: 'x', extra: 1 });
    expect(
      draftFromTask({
        ...d,
        title: 't',
        kind: 'render',
        payload: { a: 1 },
        priority: 0,
        labels: [],
        deps: [],
        description: '',
      }).kind,
    ).toBe('custom');
  });
});

describe('where errors show', () => {
  it('puts a field path at its nearest place on the form', () => {
    expect(slotFor('title')).toBe('title');
    expect(slotFor('payload.command')).toBe('payload.command');
    expect(slotFor('payload.args.3')).toBe('payload.args');
    expect(slotFor('payload.env.FOO')).toBe('payload.env');
    expect(slotFor('payload.unknownKey')).toBe('payload');
    expect(slotFor('deps.0')).toBe('deps');
    expect(slotFor('body.title')).toBe('title');
    expect(slotFor('task.payload.command')).toBe('payload.command');
    expect(slotFor('source')).toBeUndefined();
  });

  it('groups errors per place and says which item is wrong', () => {
    const { bySlot, other } = errorsBySlot({
      'deps.0': 'no task "zz"',
      'deps.2': 'no task "yy"',
      'payload.env.FOO': 'too long',
      title: 'must not be empty',
      '(body)': 'is not valid JSON',
    });
    expect(bySlot).toEqual({
      deps: '#1: no task "zz" · #3: no task "yy"',
      'payload.env': 'FOO: too long',
      title: 'must not be empty',
    });
    expect(other).toEqual(['(body): is not valid JSON']);
  });

  it('shows a payload field the form has no input for at the payload', () => {
    const errors = { 'payload.command': 'Too small', 'payload.args.0': 'bad', 'deps.0': 'no such task' };
    expect(errorsBySlot(errors, visibleSlots('custom', 'edit'))).toEqual({
      bySlot: { payload: 'command: Too small · args.0: bad' },
      other: ['deps.0: no such task'],
    });
    expect(errorsBySlot(errors, visibleSlots('exec')).bySlot).toEqual({
      'payload.command': 'Too small',
      'payload.args': '#1: bad',
      deps: '#1: no such task',
    });
  });

  it('turns server issues into field errors and marks the chips they name', () => {
    const errors = serverFieldErrors([
      { field: 'payload.command', message: 'Too small: expected string to have >=1 characters' },
      { field: 'deps.1', message: 'unknown task' },
      { field: 'labels.0', message: 'bad label' },
    ]);
    expect(errors['payload.command']).toMatch(/Too small/);
    expect([...badItems(errors, 'deps')]).toEqual([1]);
    expect([...badItems(errors, 'labels')]).toEqual([0]);
  });
});

describe('small helpers', () => {
  it('parses only JSON objects', () => {
    expect(parseJsonObject('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonObject('null').ok).toBe(false);
    expect(parseJsonObject('"x"').ok).toBe(false);
  });

  it('turns typed text into new chips, without repeats', () => {
    expect(addChips(['gpu'], 'a, b gpu  c,')).toEqual(['gpu', 'a', 'b', 'c']);
  });

  it('previews the command line as a shell would need it', () => {
    expect(commandLine(' echo ', ['hello world', '', "it's", '--x=1'])).toBe(
      `echo 'hello world' 'it'\\''s' --x=1`,
    );
  });
});
