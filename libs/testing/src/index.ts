export * from './launcher.js';
export * from './nats-server.js';
export * from './stack.js';
