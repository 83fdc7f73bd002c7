export * from './errors.js';
export * from './http-client.js';
export { COMMANDS, run } from './main.js';
export * from './settings-values.js';
export { repoRoot, SERVICES, serviceScript } from './stack/services.js';
export * from './stack/supervisor.js';
