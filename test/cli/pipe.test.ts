import fs from 'node:fs';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnCli, tempDir } from './support.js';

describe('a reader of the output that goes away (`orchestra … | head`)', { timeout: 120_000 }, () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir();
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('ends a command quietly, exit 0, without a stack trace', async () => {
    const cli = spawnCli(['optimize', '--help'], { cwd });
    // Closed before the command writes a line.
    cli.child.stdout!.destroy();
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).not.toMatch(/EPIPE|Error|\n\s+at /);
  });

  it('stops a worker gracefully, as the first signal does', async () => {
    const cli = spawnCli(['worker', '--data', 'held', '--exec', 'echo=cat'], { cwd });
    cli.child.stdout!.destroy();
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(cli.stderr()).toContain('stopping');
  });
});
