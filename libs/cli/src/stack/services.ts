import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { STACK_SERVICES } from '@jousting/contracts';

/** Every service `jousting up` starts, in start order; compose.yaml must list each (test/compose.test.ts checks). */
export const SERVICES = STACK_SERVICES;

/** The repository root: the nearest folder above the CLI's own file that holds turbo.json. */
export function repoRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  while (!existsSync(join(dir, 'turbo.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the repository root (no turbo.json above ${from})`);
    dir = parent;
  }
  return dir;
}

/** The built entry point of a service. */
export const serviceScript = (root: string, name: string) => join(root, 'services', name, 'dist', 'main.js');
