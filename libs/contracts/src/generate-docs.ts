#!/usr/bin/env node
// Writes docs/openapi.json and docs/asyncapi.json from the zod schemas: `npm run docs:api`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAsyncApi } from './asyncapi.js';
import { buildOpenApi } from './openapi.js';
import { CONTRACTS_VERSION } from './version.js';

const outDir = process.argv[2] ?? 'docs';
mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, 'openapi.json'),
  `${JSON.stringify(buildOpenApi({ version: CONTRACTS_VERSION }), null, 2)}\n`,
);
writeFileSync(
  join(outDir, 'asyncapi.json'),
  `${JSON.stringify(buildAsyncApi({ version: CONTRACTS_VERSION }), null, 2)}\n`,
);
console.log(`wrote ${join(outDir, 'openapi.json')} and ${join(outDir, 'asyncapi.json')}`);
