export * from './launcher.js';
export * from './nats-server.js';
