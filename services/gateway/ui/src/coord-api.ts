import type {
  BulkResult,
  BulkSelection,
  CoordState,
  Task,
  Template,
  TemplateInput,
} from '@jousting/contracts';
import type { ApiClient } from './api';

/**
 * The coordination, bulk and template routes (libs/contracts/src/http-coord.ts) on top of the
 * one ApiClient, so they share its CSRF header, errors and 401 handling.
 */

export type { BulkResult, BulkSelection, CoordState, Task, Template, TemplateInput };

export type BulkAction = 'cancel' | 'retry' | 'reprioritize';

export interface DrainBody {
  timeoutSeconds?: number;
  reason?: string;
}

export interface InstantiateBody {
  values: Record<string, string>;
  priority?: number;
  labels?: string[];
}

export interface Instantiated {
  template: string;
  tasks: Task[];
}

const templatePath = (name: string, rest = '') => `/api/templates/${encodeURIComponent(name)}${rest}`;

export const coordApi = {
  state: (api: ApiClient) => api.request<CoordState>('GET', '/api/coord'),
  drain: (api: ApiClient, body: DrainBody) => api.request<CoordState>('POST', '/api/coord/drain', { body }),
  pause: (api: ApiClient, reason?: string) =>
    api.request<CoordState>('POST', '/api/coord/pause', { body: reason ? { reason } : {} }),
  resume: (api: ApiClient) => api.request<CoordState>('POST', '/api/coord/resume'),

  requeue: (api: ApiClient, id: string) =>
    api.request<Task>('POST', `/api/tasks/${encodeURIComponent(id)}/requeue`),
  bulk: (
    api: ApiClient,
    action: BulkAction,
    selection: BulkSelection,
    extra: { reason?: string; priority?: number } = {},
  ) => api.request<BulkResult>('POST', `/api/tasks/bulk/${action}`, { body: { selection, ...extra } }),

  templates: (api: ApiClient) => api.request<{ items: Template[] }>('GET', '/api/templates'),
  saveTemplate: (api: ApiClient, input: TemplateInput) =>
    api.request<Template>('POST', '/api/templates', { body: input }),
  deleteTemplate: (api: ApiClient, name: string) =>
    api.request<{ name: string; deleted: true }>('DELETE', templatePath(name)),
  instantiate: (api: ApiClient, name: string, body: InstantiateBody) =>
    api.request<Instantiated>('POST', templatePath(name, '/instantiate'), { body }),
};
