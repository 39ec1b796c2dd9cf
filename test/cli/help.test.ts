import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, main } from '../../src/cli/program.js';
import { commandPath } from '../../src/cli/examples.js';
import {
  ANSWER_TIMEOUT_MS,
  CONFIG_DEFAULTS,
  describeMs,
  OPTIMIZE_EVALUATION_TIMEOUT_MS,
  OPTIMIZE_PARALLEL,
  OPTIMIZE_POPULATION,
  RUN_TIMEOUT_MS,
  START_DEFAULTS,
} from '../../src/cli/defaults.js';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../../src/workloads/index.js';

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

  it('shows each default as its one declaration says', async () => {
    const help = async (command: string) => (await orchestra([...(command ? command.split(' ') : []), '--help'])).stdout.replace(/\s+/g, ' ');
    const expected: Record<string, string[]> = {
      '': [`default ${CONFIG_DEFAULTS.store.dataDir}`, `default ${CONFIG_DEFAULTS.logLevel}`],
      start: [
        `fleet of ${CONFIG_DEFAULTS.fleet.bots} bots`,
        `${START_DEFAULTS['experiment.population']} combinations per generation, each tested ${START_DEFAULTS['experiment.testsPerCombination']} times`,
      ],
      optimize: [
        `default ${CONFIG_DEFAULTS.experiment.seed}, experiment.seed`,
        `budget / ${OPTIMIZE_POPULATION.budgetShare}, from ${OPTIMIZE_POPULATION.min} to ${OPTIMIZE_POPULATION.max}`,
        `(default ${OPTIMIZE_PARALLEL})`,
        `(default ${OPTIMIZE_EVALUATION_TIMEOUT_MS})`,
      ],
      worker: [
        `default ${CONFIG_DEFAULTS.worker.concurrency}, worker.concurrency`,
        `default ${CONFIG_DEFAULTS.worker.shutdownGraceMs}, worker.shutdownGraceMs`,
        `default ${describeMs(DEFAULT_COMMAND_TIMEOUT_MS)}`,
      ],
      'run research': [`default ${describeMs(RUN_TIMEOUT_MS)}`],
      trigger: [`default ${ANSWER_TIMEOUT_MS}`],
      agents: [`default ${ANSWER_TIMEOUT_MS}`],
      'tasks prune': [`default ${describeMs(CONFIG_DEFAULTS.registry.retentionMs)}, registry.retentionMs`],
    };
    for (const [command, parts] of Object.entries(expected)) {
      const text = await help(command);
      for (const part of parts) expect(text, `orchestra ${command} --help`).toContain(part);
    }
  });
});
