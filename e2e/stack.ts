export { newApiToken, type Stack, startStack } from '@jousting/testing';

/** The environment of the stack's reference worker: named `id`, labelled linux. */
export const workerEnv = (id: string) => ({ WORKER_ID: id, WORKER_NAME: id, WORKER_LABELS: 'linux' });
