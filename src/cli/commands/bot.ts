import os from 'node:os';
import { botIdSchema, OrchestraError, systemClock } from '../../protocol/index.js';
import { CAMPAIGN_EVALUATOR, commandEvaluator, parseExecSpec, type Evaluator } from '../../workloads/index.js';
import { ApiClient, TOKEN_VARIABLE } from '../api-client.js';
import { print, type CliIo, type GlobalFlags } from '../context.js';
import { badArgument } from '../errors.js';
import { HttpBot, type BotEvaluator } from '../http-bot.js';
import { Progress, SharedStderr } from '../progress.js';
import { listenForShutdown, type ShutdownRequest } from '../signals.js';

export interface BotCommandOptions {
  api?: string;
  token?: string;
  exec?: string[];
  capacity?: number;
  group?: string;
  role?: string;
  deviceId?: string;
  id?: string;
  timeoutMs?: number;
}

/** Keys of `--exec` besides a workload's name: `test` runs every test without a command of its own, `campaign` a campaign's runs. */
const ANY_TEST = 'test';

/**
 * Which command runs a test: a campaign's run goes to `campaign=` when there
 * is one; otherwise the test's workload's own `WORKLOAD=`, else `test=`.
 */
export function botEvaluator(execs: readonly string[], options: { timeoutMs?: number; env: Record<string, string | undefined> }): BotEvaluator {
  if (execs.length === 0) throw badArgument(`a bot needs at least one --exec ${ANY_TEST}=COMMAND (the evaluator each test runs)`);
  const env = Object.fromEntries(Object.entries(options.env).filter((e): e is [string, string] => e[1] !== undefined));
  const evaluators = new Map<string, Evaluator>();
  for (const { kind, command } of execs.map(parseExecSpec)) {
    if (evaluators.has(kind)) throw badArgument(`--exec maps ${kind} twice`);
    evaluators.set(kind, commandEvaluator(command, { clock: systemClock, env, crashes: 'error', ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) }));
  }
  return async (test, signal) => {
    const evaluate = (test.campaignId ? evaluators.get(CAMPAIGN_EVALUATOR) : undefined) ?? evaluators.get(test.workload) ?? evaluators.get(ANY_TEST);
    if (!evaluate) throw new OrchestraError('ORC_WORKER_NO_HANDLER', `no --exec for workload ${test.workload} on this bot, and no --exec ${ANY_TEST}=COMMAND`);
    return evaluate({ variables: test.variables, trial: test.trial }, signal);
  };
}

function apiUrl(url: string | undefined): string {
  if (!url) throw badArgument('a bot needs --api URL: the Orchestra server it joins (for example http://10.0.0.5:7070)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badArgument(`--api ${url}: not a URL (for example http://127.0.0.1:7070)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw badArgument(`--api ${url}: must be an http:// or https:// URL`);
  return url.replace(/\/+$/, '');
}

/**
 * `orchestra bot`: a bot of the fleet on this machine, joined over HTTP. It
 * registers with a registration token, runs the tests the fleet hands it
 * through its `--exec` commands (the evaluator protocol: JSON on stdin, one
 * JSON object on stdout), and shows what it does on standard error. The first
 * SIGINT or SIGTERM drains it (running tests finish and report, nothing new is
 * taken, it leaves the fleet); a second kills its commands and exits.
 */
export async function botCommand(_globals: GlobalFlags, options: BotCommandOptions, io: CliIo): Promise<void> {
  const shutdown = listenForShutdown();
  try {
    const url = apiUrl(options.api);
    const token = options.token ?? io.env[TOKEN_VARIABLE];
    if (!token) throw badArgument(`a bot needs a registration token: --token TOKEN or ${TOKEN_VARIABLE} (made with orchestra tokens create --role bot --name fleet)`);
    const evaluate = botEvaluator(options.exec ?? [], { env: io.env, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
    const deviceId = options.deviceId ?? os.hostname();
    const botId = options.id ?? deviceId;
    const checked = botIdSchema.safeParse(botId);
    if (!checked.success) throw badArgument(`bot id "${botId}" ${checked.error.issues[0]?.message ?? 'is invalid'}${options.id ? '' : ' (it defaults to the host name: give one with --id)'}`);
    const stderr = new SharedStderr(io.stderr);
    const bot = new HttpBot({
      api: new ApiClient({ url, token }),
      botId,
      deviceId,
      role: options.role ?? 'tester',
      group: options.group ?? 'default',
      capacity: options.capacity ?? 3,
      evaluate,
      clock: systemClock,
    });
    bot.on('notice', (text) => stderr.write(`orchestra: ${text}\n`));
    // The clock's timers do not hold the process open; between calls to an unreachable server, a bot has nothing else that does.
    const keepAlive = setInterval(() => undefined, 60_000);
    try {
      await runBot(bot, botId, url, shutdown, stderr, io);
    } finally {
      clearInterval(keepAlive);
    }
  } finally {
    shutdown.dispose();
  }
}

async function runBot(bot: HttpBot, botId: string, url: string, shutdown: ShutdownRequest, stderr: SharedStderr, io: CliIo): Promise<void> {
  await bot.start();
  print(io, `bot ${botId} joined ${url}`);
  const progress = new Progress(() => {
    const s = bot.stats;
    return `bot ${botId} (${s.state}): ${s.completed} completed · ${s.failed} failed · ${s.dropped} dropped · ${s.running} running · ${s.restarts} restarts`;
  }, stderr, systemClock);
  const ended = await Promise.race([shutdown.requested, bot.finished().then(() => undefined)]).finally(() => progress.stop());
  if (ended) {
    stderr.write(`orchestra: ${ended}: draining: ${bot.stats.running} running test(s) finish and report, nothing new is taken; a second signal kills them and exits\n`);
    await bot.drain();
  }
  await bot.finished();
  const s = bot.stats;
  print(io, `bot ${botId} left the fleet: ${s.completed} completed, ${s.failed} failed, ${s.dropped} dropped`);
}
