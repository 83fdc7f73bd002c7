#!/usr/bin/env node
import { run } from './main.js';

const code = await run(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
});
// Exit once output is flushed: idle keep-alive sockets would otherwise hold the process for seconds.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
