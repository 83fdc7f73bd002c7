import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@jousting/testing';
import type { Stack } from './stack.js';

const CLI_BIN = join(repoRoot(), 'libs', 'cli', 'dist', 'bin.js');

/** The built `jousting` CLI against `stack`, as its admin. A killed run (timeout) has code -1. */
export function jousting(
  stack: Stack,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, JOUSTING_URL: stack.baseUrl, JOUSTING_TOKEN: stack.adminToken };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_BIN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
