import type { ServiceDefinition } from '@jousting/bus';
import { CONTRACTS_VERSION } from '@jousting/contracts';
import { createApp } from './app.js';
import { Auth, bootstrapAdminToken, SessionStore, TokenStore } from './auth.js';
import { GatewayConfig } from './config.js';
import { EventHub, jetStreamEventLog } from './event-feed.js';
import { listenHttp } from './http-server.js';
import { SseFeed } from './sse.js';
import { WsFeed } from './ws.js';

/**
 * The gateway as a bus service: it gets config, logger, NATS and `api.gateway.health` from the
 * runtime, and its start() opens the HTTP server (REST API, /ws and SSE feed, the UI).
 */
export const gatewayService: ServiceDefinition<typeof GatewayConfig> = {
  name: 'gateway',
  version: CONTRACTS_VERSION,
  description: 'HTTP API, WebSocket/SSE event feed and operator UI',
  config: GatewayConfig,
  async start(ctx) {
    const { config, logger } = ctx;
    const tokens = await TokenStore.open(ctx.js);
    const sessions = await SessionStore.open(ctx.js);
    await bootstrapAdminToken({
      tokens,
      adminToken: config.JOUSTING_ADMIN_TOKEN,
      dataDir: config.JOUSTING_DATA_DIR,
      logger,
    });
    const auth = new Auth(tokens, sessions, { secureCookies: config.GATEWAY_SECURE_COOKIES });

    const hub = new EventHub(jetStreamEventLog(ctx), logger);
    await hub.start();
    const ws = new WsFeed({
      hub,
      auth,
      logger,
      pingMs: config.GATEWAY_WS_PING_MS,
      maxBufferedBytes: config.GATEWAY_WS_MAX_BUFFERED_BYTES,
    });
    const sse = new SseFeed({ hub, auth, maxBufferedBytes: config.GATEWAY_WS_MAX_BUFFERED_BYTES });

    const app = createApp({
      version: gatewayService.version,
      logger,
      nc: ctx.nc,
      audit: ctx.audit,
      auth,
      sse,
      ws: ws.handler,
      uiDir: config.JOUSTING_UI_DIR,
    });
    let http: Awaited<ReturnType<typeof listenHttp>>;
    try {
      http = await listenHttp(app, { host: config.GATEWAY_HOST, port: config.GATEWAY_PORT });
    } catch (err) {
      await hub.stop();
      throw err;
    }
    ws.start();
    logger.info(
      { host: config.GATEWAY_HOST, port: http.port, uiDir: config.JOUSTING_UI_DIR },
      'gateway listening',
    );

    return {
      endpoints: [],
      status: () => (hub.healthy ? 'ok' : 'degraded'),
      stop: async () => {
        await Promise.all([ws.closeAll(), sse.closeAll()]);
        await hub.stop();
        await http.close();
      },
    };
  },
};
