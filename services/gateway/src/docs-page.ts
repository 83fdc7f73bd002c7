import { WsClientMessage, WsServerMessage } from '@jousting/contracts';
import { z } from 'zod';

/** The parts of an OpenAPI document the page reads (the document from buildOpenApi). */
interface OpenApiDoc {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown> };
}
interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: unknown }>;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
  security?: unknown[];
  'x-required-role'?: string;
}

const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const slug = (text: string) => text.replace(/[^A-Za-z0-9_-]+/g, '-');

/** Pretty JSON with every `$ref` to a component turned into a link to that schema on the page. */
function schemaBlock(schema: unknown): string {
  const html = escapeHtml(JSON.stringify(schema, null, 2));
  return `<pre>${html.replace(
    /&quot;#\/components\/schemas\/([A-Za-z0-9_.-]+)&quot;/g,
    (_m, name: string) => `<a href="#schema-${slug(name)}">&quot;#/components/schemas/${name}&quot;</a>`,
  )}</pre>`;
}

function renderOperation(method: string, path: string, op: Operation): string {
  const role = op['x-required-role'] ?? 'public';
  const parameters = op.parameters?.length
    ? `<h4>Parameters</h4><table><tr><th>Name</th><th>In</th><th>Required</th><th>Schema</th></tr>${op.parameters
        .map(
          (p) =>
            `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}</td><td>${
              p.required ? 'yes' : 'no'
            }</td><td>${schemaBlock(p.schema ?? {})}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  const body = Object.entries(op.requestBody?.content ?? {})
    .map(
      ([type, media]) =>
        `<h4>Request body <small>${escapeHtml(type)}</small></h4>${schemaBlock(media.schema ?? {})}`,
    )
    .join('');
  const responses = Object.entries(op.responses ?? {})
    .map(([status, response]) => {
      const content = Object.entries(response.content ?? {})
        .map(
          ([type, media]) => `<div class="media">${escapeHtml(type)}</div>${schemaBlock(media.schema ?? {})}`,
        )
        .join('');
      return `<div class="response"><span class="status s${status[0]}">${escapeHtml(status)}</span> ${escapeHtml(
        response.description ?? '',
      )}${content}</div>`;
    })
    .join('');
  return `<article class="op" id="op-${slug(op.operationId ?? `${method}-${path}`)}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
<p>${escapeHtml(op.summary ?? '')}</p>
<p class="role">Required role: <strong>${escapeHtml(role)}</strong></p>
${parameters}${body}<h4>Responses</h4>${responses}
</article>`;
}

/** The API reference as one self-contained HTML page (no scripts, no CDN), rendered from the OpenAPI document. */
export function renderDocsPage(doc: OpenApiDoc): string {
  const byTag = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, value] of Object.entries(methods)) {
      const op = value as Operation;
      const tag = op.tags?.[0] ?? 'other';
      byTag.set(tag, [...(byTag.get(tag) ?? []), renderOperation(method, path, op)]);
    }
  }
  const sections = [...byTag]
    .map(
      ([tag, ops]) => `<section id="tag-${slug(tag)}"><h2>${escapeHtml(tag)}</h2>${ops.join('\n')}</section>`,
    )
    .join('\n');
  const schemas = Object.entries(doc.components.schemas)
    .map(([name, schema]) => `<h3 id="schema-${slug(name)}">${escapeHtml(name)}</h3>${schemaBlock(schema)}`)
    .join('\n');
  const wsSchema = (schema: z.ZodType) => schemaBlock(z.toJSONSchema(schema, { unrepresentable: 'any' }));
  const nav = [...byTag.keys(), 'websocket', 'schemas']
    .map((tag) => `<a href="#tag-${slug(tag)}">${escapeHtml(tag)}</a>`)
    .join(' · ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.info.title)} ${escapeHtml(doc.info.version)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:0 auto;padding:1rem 2rem;color:#1d2430}
h1{margin-bottom:0}h2{border-bottom:2px solid #d8dee8;padding-top:1rem;text-transform:capitalize}
nav{margin:1rem 0}nav a{margin-right:.25rem}
.op{border:1px solid #d8dee8;border-radius:6px;padding:0 1rem 1rem;margin:1rem 0}
.method{display:inline-block;min-width:4.5rem;text-align:center;border-radius:4px;color:#fff;font-size:.8rem;padding:.1rem .4rem;background:#5b6b82}
.get{background:#2f7d4f}.post{background:#2d62b3}.patch{background:#a8661a}.put{background:#7a4fb0}.delete{background:#b3392d}
.status{font-weight:bold;font-family:monospace}.s2{color:#2f7d4f}.s4{color:#a8661a}.s5{color:#b3392d}
.role strong{font-family:monospace}.media{font-family:monospace;font-size:.85rem;color:#5b6b82}
pre{background:#f4f6f9;padding:.6rem;border-radius:4px;overflow:auto;max-height:28rem;font-size:.8rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e9f0;text-align:left;vertical-align:top;padding:.3rem}
</style></head><body>
<h1>${escapeHtml(doc.info.title)}</h1>
<p>Version ${escapeHtml(doc.info.version)} · <a href="/api/openapi.json">openapi.json</a></p>
<p>${escapeHtml(doc.info.description ?? '')}</p>
<nav>${nav}</nav>
${sections}
<section id="tag-websocket"><h2>websocket</h2>
<p><code>GET /ws</code> (role viewer; bearer header or session cookie) upgrades to a WebSocket carrying the event feed.
The server sends <code>hello</code> with the last stream sequence; send <code>subscribe</code> with NATS patterns over event
types, and <code>replay</code> with the last sequence you saw to catch up. Messages are JSON text.</p>
<h3>Client → server</h3>${wsSchema(WsClientMessage)}
<h3>Server → client</h3>${wsSchema(WsServerMessage)}
</section>
<section id="tag-schemas"><h2>schemas</h2>${schemas}</section>
</body></html>
`;
}
