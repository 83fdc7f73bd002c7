import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import type { MiddlewareHandler } from 'hono';
import type { GatewayEnv } from './http-env.js';

/** Paths that belong to the API or the feed, never to the UI. */
const NOT_UI = /^\/(?:api|ws)(?:\/|$)/;
/**
 * Where the built UI keeps files (`/assets/app.js`, `/favicon.svg`): a missing file there is a
 * 404, not the SPA page. Deeper paths are client routes even with a dot (`/tasks/build.v2`).
 */
const LOOKS_LIKE_A_FILE = /^\/(?:assets\/.+|[^/]+\.[A-Za-z0-9]+)$/;

export const UI_NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Jousting Operator</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}</style></head>
<body><h1>Jousting Operator</h1>
<p>The gateway is running, but the operator UI is not built.</p>
<p>Build it from the repository root with <code>npm run build</code> (or point <code>JOUSTING_UI_DIR</code> at a built UI), then reload.</p>
<p>The API works meanwhile: see <a href="/api/docs">/api/docs</a>.</p>
</body></html>
`;

/**
 * Serves the built UI from `uiDir`, falling back to index.html for GET paths outside /api and /ws
 * (client-side routes). The directory is checked per request, so building the UI needs no restart.
 */
export function serveUi(uiDir: string): MiddlewareHandler<GatewayEnv> {
  const indexFile = join(uiDir, 'index.html');
  let files: MiddlewareHandler | undefined;
  let index: { mtimeMs: number; html: string } | undefined;
  const readIndex = () => {
    const { mtimeMs } = statSync(indexFile);
    if (index?.mtimeMs !== mtimeMs) index = { mtimeMs, html: readFileSync(indexFile, 'utf8') };
    return index.html;
  };

  return async (c, next) => {
    if ((c.req.method !== 'GET' && c.req.method !== 'HEAD') || NOT_UI.test(c.req.path)) return next();
    const looksLikeFile = LOOKS_LIKE_A_FILE.test(c.req.path);
    if (!existsSync(indexFile)) return looksLikeFile ? next() : c.html(UI_NOT_BUILT_PAGE);
    files ??= serveStatic({
      root: uiDir,
      onFound: (path, ctx) => {
        // Vite fingerprints what is under assets/, so it never changes; the rest must be asked for again.
        ctx.header(
          'Cache-Control',
          path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    });
    const served = await files(c, async () => undefined);
    if (served instanceof Response) return served;
    if (looksLikeFile) return next();
    c.header('Cache-Control', 'no-cache');
    return c.html(readIndex());
  };
}
