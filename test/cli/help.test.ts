import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, main } from '../../src/cli/program.js';
import { commandPath } from '../../src/cli/examples.js';

const quiet = () => ({ write: () => true }) as unknown as NodeJS.WritableStream;

/** `orchestra ARGS` in this process; help needs no store. */
async function orchestra(args: string[]) {
  let stdout = '';
  const io = {
    stdout: { write: (s: string) => ((stdout += s), true) } as unknown as NodeJS.WritableStream,
    stderr: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream,
    stdin: Readable.from([]),
    env: {},
    cwd: process.cwd(),
  };
  const code = await main(args, io);
  return { code, stdout };
}

function commands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(commands)];
}

const io = { stdout: quiet(), stderr: quiet() as NodeJS.WriteStream, stdin: Readable.from([]), env: {}, cwd: process.cwd() };
const paths = commands(buildProgram(io)).map(commandPath);

describe('orchestra COMMAND --help', () => {
  it('knows the commands it checks', () => {
    expect(paths).toEqual(expect.arrayContaining(['', 'start', 'optimize', 'worker', 'tasks add', 'run research', 'migrate']));
  });

  it.each(paths.map((p) => [p || '(the program)', p]))('%s shows examples that run that command', async (_name, path) => {
    const { code, stdout } = await orchestra([...(path ? path.split(' ') : []), '--help']);
    expect(code).toBe(0);
    const examples = stdout.split('\nExamples:\n')[1];
    expect(examples, `orchestra ${path} --help has no "Examples:" section`).toBeDefined();
    const lines = examples!.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    // Global options may come before the command, as in `orchestra --data ./study best`.
    const runs = new RegExp(`^  \\$ (\\S+=\\S+ )?(cat \\S+ \\| )?orchestra( --\\S+ \\S+)*${path ? ` ${path}\\b` : ''}`);
    for (const line of lines) expect(line).toMatch(runs);
  });
});
