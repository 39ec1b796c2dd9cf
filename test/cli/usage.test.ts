import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { main } from '../../src/cli/program.js';
import { tempDir } from './support.js';

/** Runs the command line in this process: usage errors need no store, so no child process either. */
async function orchestra(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (s: string) => ((stdout += s), true) } as unknown as NodeJS.WritableStream,
    stderr: { write: (s: string) => ((stderr += s), true), isTTY: false } as unknown as NodeJS.WriteStream,
    stdin: Readable.from([]),
    env,
    cwd,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

let cwd: string;
beforeAll(() => {
  cwd = tempDir();
});
afterAll(() => {
  fs.rmSync(cwd, { recursive: true, force: true });
});

/** Exit 2 and exactly one line on stderr, ending with the code. */
function expectUsageError(result: { code: number; stdout: string; stderr: string }, code: string, text: string | RegExp) {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(new RegExp(`^orchestra: [^\\n]* \\[${code}\\]\\n$`));
  expect(result.stderr).toMatch(text);
}

describe('orchestra usage', () => {
  it('prints help and the version on stdout with exit 0', async () => {
    const help = await orchestra(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    for (const command of ['start', 'worker', 'tasks', 'migrate']) expect(help.stdout).toContain(command);
    const version = await orchestra(['--version']);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const startHelp = await orchestra(['start', '--help']);
    expect(startHelp.stdout).toContain('--generations');
    expect(startHelp.stdout).toContain('--data <dir>');
  });

  it('names the commands when none is given', async () => {
    expectUsageError(await orchestra([]), 'ORC_CLI_BAD_ARGUMENT', 'a command is needed: start, serve, tokens, run, optimize, generations, best, bots, campaigns, trigger, stop, agents, worker, bot, tasks');
    expectUsageError(await orchestra(['tasks']), 'ORC_CLI_BAD_ARGUMENT', 'tasks needs a command: add, list, show, stats, retry, cancel');
  });

  it('reports unknown commands, unknown flags and missing arguments on one line', async () => {
    expectUsageError(await orchestra(['task', 'list']), 'ORC_CLI_BAD_ARGUMENT', "unknown command 'task' (Did you mean tasks?)");
    expectUsageError(await orchestra(['tasks', 'list', '--bogus']), 'ORC_CLI_BAD_ARGUMENT', "unknown option '--bogus'");
    expectUsageError(await orchestra(['tasks', 'show']), 'ORC_CLI_BAD_ARGUMENT', "missing required argument 'id'");
    expectUsageError(await orchestra(['tasks', 'add', '--priority']), 'ORC_CLI_BAD_ARGUMENT', "option '--priority <p>' argument missing");
  });

  it('checks numbers and values in flags before touching any store', async () => {
    expectUsageError(await orchestra(['start', '--generations', '0']), 'ORC_CLI_BAD_ARGUMENT', '--generations must be a whole number from 1 to 1000000, not "0"');
    expectUsageError(await orchestra(['optimize', '--space', 's.json', '--command', 'x', '--out', 'r.json', '--budget', 'lots']), 'ORC_CLI_BAD_ARGUMENT', '--budget must be a whole number');
    expectUsageError(await orchestra(['serve', '--agents', 'researcher,painter']), 'ORC_CLI_BAD_ARGUMENT', '--agents: unknown agent "painter"');
    expectUsageError(await orchestra(['run', 'research']), 'ORC_CLI_BAD_ARGUMENT', "required option '--topic <text>' not specified");
    expectUsageError(await orchestra(['tasks', 'add', '--kind', 'x', '--priority', '11']), 'ORC_CLI_BAD_ARGUMENT', '--priority');
    expectUsageError(await orchestra(['tasks', 'add', '--kind', 'x', '--payload', '{nope']), 'ORC_PROTOCOL_INVALID_JSON', 'invalid --payload');
    expectUsageError(await orchestra(['tasks', 'add', '--kind', 'Bad Kind']), 'ORC_PROTOCOL_INVALID_VALUE', 'kind');
    expectUsageError(await orchestra(['tasks', 'list', '--status', 'done']), 'ORC_CLI_BAD_ARGUMENT', '--status DONE is not one of PENDING');
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('refuses a worker kind without a command to run it', async () => {
    expectUsageError(await orchestra(['worker']), 'ORC_CLI_BAD_ARGUMENT', 'at least one --exec KIND=COMMAND');
    expectUsageError(await orchestra(['worker', '--kind', 'resize']), 'ORC_CLI_BAD_ARGUMENT', 'kind resize has no command: add --exec resize=COMMAND');
    expectUsageError(await orchestra(['worker', '--exec', 'a=cat', 'b=cat', '--kind', 'a', 'c']), 'ORC_CLI_BAD_ARGUMENT', 'kind c has no command');
    expectUsageError(await orchestra(['worker', '--exec', 'no-command']), 'ORC_CLI_BAD_ARGUMENT', 'must be KIND=COMMAND');
    expectUsageError(await orchestra(['worker', '--exec', 'a=cat', '--exec', 'a=wc']), 'ORC_CLI_BAD_ARGUMENT', '--exec maps kind a twice');
  });

  it('reports a bad configuration with its key and source', async () => {
    expectUsageError(await orchestra(['tasks', 'list', '--log-level', 'loud']), 'ORC_CONFIG_INVALID', 'configuration logLevel from flag --log-level');
    expectUsageError(await orchestra(['tasks', 'list'], { ORCHESTRA_PREFIX: 'a b' }), 'ORC_CONFIG_INVALID', 'bus.prefix from environment variable ORCHESTRA_PREFIX');
    expectUsageError(await orchestra(['tasks', 'list', '--config', 'none.json']), 'ORC_CONFIG_INVALID', 'config file none.json (from --config) does not exist');
    fs.writeFileSync(path.join(cwd, 'orchestra.config.json'), JSON.stringify({ worker: { concurrency: 0 } }));
    try {
      expectUsageError(await orchestra(['worker', '--exec', 'a=cat']), 'ORC_CONFIG_INVALID', 'worker.concurrency from config file orchestra.config.json');
    } finally {
      fs.rmSync(path.join(cwd, 'orchestra.config.json'));
    }
  });
});
