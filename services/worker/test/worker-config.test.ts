import { loadConfig } from '@jousting/bus';
import { describe, expect, it } from 'vitest';
import { WorkerConfig } from '../src/config.js';

describe('WorkerConfig', () => {
  it('has defaults for everything', () => {
    expect(loadConfig(WorkerConfig, {})).toEqual({
      WORKER_CONCURRENCY: 4,
      WORKER_PREFETCH: 0,
      WORKER_LABELS: [],
      WORKER_DRAIN_SECONDS: 20,
    });
  });

  it('reads comma-separated labels and treats empty variables as unset', () => {
    const config = loadConfig(WorkerConfig, {
      WORKER_LABELS: 'gpu, region=eu,,',
      WORKER_CONCURRENCY: '16',
      WORKER_PREFETCH: '8',
      WORKER_ID: '',
      WORKER_NAME: 'build box',
    });
    expect(config).toMatchObject({
      WORKER_LABELS: ['gpu', 'region=eu'],
      WORKER_CONCURRENCY: 16,
      WORKER_PREFETCH: 8,
      WORKER_NAME: 'build box',
    });
    expect(config.WORKER_ID).toBeUndefined();
  });

  it('names a bad variable', () => {
    expect(() => loadConfig(WorkerConfig, { WORKER_ID: 'no spaces allowed' })).toThrow(/WORKER_ID/);
    expect(() => loadConfig(WorkerConfig, { WORKER_CONCURRENCY: '0' })).toThrow(/WORKER_CONCURRENCY/);
    expect(() => loadConfig(WorkerConfig, { WORKER_PREFETCH: '-1' })).toThrow(/WORKER_PREFETCH/);
    expect(() => loadConfig(WorkerConfig, { WORKER_LABELS: 'bad label!' })).toThrow(/WORKER_LABELS/);
  });
});
