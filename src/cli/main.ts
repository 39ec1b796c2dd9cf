#!/usr/bin/env node
import { main } from './program.js';

// A reader that went away (`orchestra tasks list | head`) ends the output, as
// SIGPIPE ends other programs in a pipeline: no stack trace. A command that
// holds work stops as on SIGTERM, gracefully; any other command exits.
let readerGone = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  if (readerGone) return;
  readerGone = true;
  if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM');
  else process.exit(process.exitCode ?? 0);
});

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
