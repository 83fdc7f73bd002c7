import { describe, expect, it } from 'vitest';
import { matchRoute, navSection, PAGES, taskPath } from '../src/routes';

describe('routes', () => {
  it('shows Tasks, Graph and Workers in the sidebar but not the task detail', () => {
    const shown = PAGES.filter((p) => !p.hidden).map((p) => p.path);
    expect(shown).toEqual(expect.arrayContaining(['/tasks', '/graph', '/workers']));
    expect(shown).not.toContain('/tasks/:id');
  });

  it('matches a task detail path and decodes its id', () => {
    const match = matchRoute(taskPath('build:42'));
    expect(match?.page.path).toBe('/tasks/:id');
    expect(match?.params).toEqual({ id: 'build:42' });
    expect(matchRoute('/tasks/')?.page.path).toBe('/tasks');
    expect(matchRoute('/tasks/a/b')).toBeUndefined();
  });

  it('highlights Tasks in the sidebar while a task is open', () => {
    expect(navSection('/tasks/abc')).toBe('/tasks');
    expect(navSection('/graph')).toBe('/graph');
    expect(navSection('/nowhere')).toBeUndefined();
  });
});
