import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@jousting/testing';
import { type Browser, chromium } from 'playwright-core';
import type { Stack } from './stack.js';

const UI_INDEX = join(repoRoot(), 'services', 'gateway', 'ui', 'dist', 'index.html');
const CHROMIUM = '/usr/bin/chromium';

/**
 * The distribution's Chromium, headless (never a downloaded browser). Without the
 * background-networking flags it keeps dialing out, which this closed network refuses.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(UI_INDEX)) throw new Error(`${UI_INDEX} is missing: run \`npm run build -w @jousting/ui\``);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
}

/** A JSON call to the gateway with the stack's admin token. */
export async function adminApi<T>(
  stack: Stack,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(stack.baseUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${stack.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}
