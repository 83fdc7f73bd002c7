import type { Template } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import {
  buildRunBody,
  buildTemplateInput,
  draftOfTemplate,
  EMPTY_TEMPLATE_DRAFT,
  errorsBySlot,
  errorsOfIssues,
  runFields,
  variablesUsed,
} from '../src/template-form';

const T0 = '2026-01-02T03:04:05.000Z';

const template: Template = {
  name: 'nightly',
  description: 'build a branch',
  variables: [{ name: 'branch', default: 'main', description: 'what to build' }, { name: 'repo' }],
  tasks: [
    {
      id: 'build',
      title: 'Build {{branch}}',
      description: '',
      kind: 'exec',
      payload: { command: 'git', args: ['clone', '{{repo}}'] },
      priority: 0,
      labels: [],
      deps: [],
    },
    {
      id: 'test',
      title: 'Test',
      description: 'runs tests',
      kind: 'exec',
      payload: {},
      priority: 3,
      labels: ['linux'],
      deps: ['build'],
    },
  ],
  createdAt: T0,
  updatedAt: T0,
  updatedBy: 'admin',
};

describe('template editor', () => {
  it('accepts the starter draft and a saved template turned back into a draft', () => {
    const starter = buildTemplateInput({ ...EMPTY_TEMPLATE_DRAFT, name: 'starter' });
    expect(starter.ok).toBe(true);
    const again = buildTemplateInput(draftOfTemplate(template));
    expect(again).toEqual({
      ok: true,
      value: {
        name: 'nightly',
        description: 'build a branch',
        variables: template.variables,
        tasks: [
          { id: 'build', title: 'Build {{branch}}', kind: 'exec', payload: template.tasks[0]?.payload },
          // Every field of this one differs from a default, so it comes back as it is.
          template.tasks[1],
        ],
      },
    });
  });

  it('names each mistake by its path in the JSON', () => {
    const result = buildTemplateInput({
      name: 'Bad Name',
      description: '',
      variables: JSON.stringify([{ name: 'x' }, { name: 'x' }, { name: '1bad', default: 5 }]),
      tasks: JSON.stringify([
        { id: 'a', title: '', priority: 5000, deps: ['a', 'ghost'] },
        { id: 'a', title: 'ok', colour: 'red', kind: 'Exec' },
      ]),
    });
    expect(result.ok ? {} : result.errors).toEqual({
      name: 'Lowercase letters, digits, "_" or "-", at most 64',
      'variables.1.name': '"x" is declared twice',
      'variables.2.name': 'A name like "repo" or "branch_name"',
      'variables.2.default': 'A string of at most 10000 characters',
      'tasks.0.title': 'Must not be empty',
      'tasks.0.priority': 'A whole number from -1000 to 1000',
      'tasks.0.deps.0': 'A task cannot wait for itself',
      'tasks.0.deps.1': 'No task with the local id "ghost" in this template',
      'tasks.1.id': '"a" is used twice',
      'tasks.1.colour':
        'Unknown field (known: id, title, description, kind, payload, priority, labels, deps)',
      'tasks.1.kind': 'Lowercase letters, digits and "-", e.g. "exec"',
    });
  });

  it('reports broken JSON, a missing list and undeclared variables on the field itself', () => {
    const broken = buildTemplateInput({ name: 'a', description: '', variables: '[{', tasks: '' });
    expect(broken.ok ? {} : broken.errors).toEqual({
      variables: expect.stringMatching(/^Not valid JSON: /),
      tasks: 'Required: a JSON list',
    });
    const undeclared = buildTemplateInput({
      name: 'a',
      description: '',
      variables: '',
      tasks: JSON.stringify([{ id: 'a', title: 'hello {{ who }}' }]),
    });
    expect(undeclared.ok ? {} : undeclared.errors).toEqual({
      variables: '{{who}} is used in the tasks but not declared here',
    });
    expect([...variablesUsed({ a: ['{{x}} and {{y_1}}', { b: '{{x}}' }], n: 3 })]).toEqual(['x', 'y_1']);
  });

  it('places server errors next to the field they name', () => {
    const errors = errorsOfIssues([
      { field: 'name', message: 'taken' },
      { field: 'tasks.0.payload.command', message: 'Required' },
      { field: 'fromTasks.0', message: 'task x not found' },
      { field: 'request', message: 'odd' },
    ]);
    expect(errorsBySlot(errors)).toEqual({
      bySlot: {
        name: ['taken'],
        tasks: ['tasks.0.payload.command: Required', 'fromTasks.0: task x not found'],
      },
      other: ['request: odd'],
    });
  });
});

describe('template run form', () => {
  it('prefills defaults and marks variables without one as required', () => {
    expect(runFields(template)).toEqual([
      { name: 'branch', description: 'what to build', required: false, initial: 'main' },
      { name: 'repo', required: true, initial: '' },
    ]);
  });

  it('sends only values that differ from their default, and requires the rest', () => {
    expect(
      buildRunBody(template, {
        values: { branch: 'main', repo: 'git@x:y' },
        priority: ' 4 ',
        labels: 'a, b a',
      }),
    ).toEqual({ ok: true, value: { values: { repo: 'git@x:y' }, priority: 4, labels: ['a', 'b'] } });
    expect(buildRunBody(template, { values: { branch: '', repo: 'r' }, priority: '', labels: '' })).toEqual({
      ok: true,
      value: { values: { branch: '', repo: 'r' } },
    });
    expect(buildRunBody(template, { values: { repo: '  ' }, priority: 'high', labels: 'no/slash' })).toEqual({
      ok: false,
      errors: {
        'values.repo': 'Required',
        priority: 'A whole number',
        labels: '"no/slash" is not a label like "gpu" or "region=eu"',
      },
    });
  });
});
