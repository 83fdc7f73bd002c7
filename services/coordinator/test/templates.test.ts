import { JoustingError, Template } from '@jousting/contracts';
import { describe, expect, it } from 'vitest';
import { checkTemplate, instantiate, placeholdersIn, substitute } from '../src/templates.js';

const template = Template.parse({
  name: 'deploy',
  description: '',
  variables: [{ name: 'env' }, { name: 'tag', default: 'latest' }],
  tasks: [
    {
      id: 'build',
      title: 'build {{tag}}',
      kind: 'exec',
      payload: { command: 'make', args: ['{{tag}}'] },
      priority: 0,
      labels: [],
      deps: [],
      description: '',
    },
    {
      id: 'ship',
      title: 'ship to {{ env }}',
      kind: 'exec',
      payload: { command: 'ship' },
      priority: 0,
      labels: ['{{env}}'],
      deps: ['build', 'outside-task'],
      description: '',
    },
  ],
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
  updatedBy: 'op',
});

describe('template placeholders', () => {
  it('finds and fills them at any depth, keys included', () => {
    expect([...placeholdersIn({ a: ['{{x}}', { '{{y}}': 1 }] })].sort()).toEqual(['x', 'y']);
    expect(substitute({ a: ['{{x}}!', { '{{y}}': '{{x}}' }] }, { x: '1', y: 'k' })).toEqual({
      a: ['1!', { k: '1' }],
    });
  });
});

describe('checkTemplate', () => {
  it('accepts a valid template', () => {
    expect(checkTemplate(template)).toEqual([]);
  });
  it('names duplicates, self-deps, undeclared variables and cycles', () => {
    const issues = checkTemplate({
      variables: [{ name: 'a' }, { name: 'a' }],
      tasks: [
        {
          id: 'x',
          title: '{{b}}',
          kind: 'exec',
          payload: {},
          priority: 0,
          labels: [],
          deps: ['y'],
          description: '',
        },
        {
          id: 'y',
          title: 'y',
          kind: 'exec',
          payload: {},
          priority: 0,
          labels: [],
          deps: ['x', 'y'],
          description: '',
        },
        {
          id: 'y',
          title: 'again',
          kind: 'exec',
          payload: {},
          priority: 0,
          labels: [],
          deps: ['x'],
          description: '',
        },
      ],
    });
    const fields = issues.map((i) => i.field);
    expect(fields).toEqual(
      expect.arrayContaining(['variables.1.name', 'tasks.2.id', 'tasks.0', 'tasks.1.deps.1']),
    );
    const cycle = checkTemplate({
      variables: [],
      tasks: [
        {
          id: 'x',
          title: 'x',
          kind: 'exec',
          payload: {},
          priority: 0,
          labels: [],
          deps: ['y'],
          description: '',
        },
        {
          id: 'y',
          title: 'y',
          kind: 'exec',
          payload: {},
          priority: 0,
          labels: [],
          deps: ['x'],
          description: '',
        },
      ],
    });
    expect(cycle).toEqual([{ field: 'tasks', message: 'dependency cycle: x → y → x' }]);
  });
});

describe('instantiate', () => {
  let n = 0;
  const newId = () => `id${++n}`;

  it('fills values and defaults, gives fresh ids and rewrites member deps only', () => {
    const tasks = instantiate(template, { values: { env: 'prod' }, priority: 5 }, newId);
    expect(tasks.map((t) => t.title)).toEqual(['build latest', 'ship to prod']);
    expect(tasks[0]!.payload).toEqual({ command: 'make', args: ['latest'] });
    expect(tasks[1]!.deps).toEqual([tasks[0]!.id, 'outside-task']);
    expect(tasks[1]!.labels).toEqual(['prod']);
    expect(tasks.every((t) => t.priority === 5)).toBe(true);
  });

  it('names missing and unknown values with the prefix', () => {
    try {
      instantiate(template, { values: { other: 'x' } }, newId, 'request.');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(JoustingError);
      const fields = ((err as JoustingError).details as { fields: Array<{ field: string }> }).fields.map(
        (f) => f.field,
      );
      expect(fields).toEqual(['request.values.env', 'request.values.other']);
    }
  });

  it('validates the filled tasks as new tasks (a value that breaks a label is refused)', () => {
    expect(() => instantiate(template, { values: { env: 'not a label!' } }, newId)).toThrow(/labels/);
  });
});
