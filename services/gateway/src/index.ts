export { createApp, type GatewayDeps } from './app.js';
export { Auth, SessionStore, TokenStore } from './auth.js';
export { GatewayConfig } from './config.js';
export { EventHub, type EventLog, FeedSubscription, jetStreamEventLog } from './event-feed.js';
export { gatewayService } from './service.js';
