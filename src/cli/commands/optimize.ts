import fs from 'node:fs';
import path from 'node:path';
import { createLogger, OrchestraError, stopCommand, systemClock, ValidationError, type JsonValue } from '../../protocol/index.js';
import { getStudy, IN_MEMORY, listBots, listCombinations, listReports, listResults } from '../../store/index.js';
import { commandEvaluator, processLauncher } from '../../workloads/index.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { elapsed, Progress, SharedStderr } from '../progress.js';
import { listenForShutdown } from '../signals.js';
import { badArgument } from '../errors.js';
import { readSpace } from '../workload.js';
import { checkCombination, type Combination, type Space } from '../../evolution/index.js';
import { buildExperiment } from '../experiment.js';
import { bestOf } from '../../agents/index.js';
import { formatNumber, successEstimate } from '../format.js';
import { FailureWatch, hopelessError, noSuccessError } from '../outcomes.js';
import { checkOutput, STDOUT_PATH, writeOutput } from '../output-file.js';
import { reclaimEarlierRun } from '../resume.js';
import { serveApi, type ServedApi } from '../api-server.js';
import { createToken } from '../../api/index.js';
import { OPTIMIZE_DEFAULTS, OPTIMIZE_EVALUATION_TIMEOUT_MS, OPTIMIZE_PARALLEL, optimizePopulation, optimizeWaitingPerBot } from '../defaults.js';

export interface OptimizeOptions {
  space: string;
  /** The evaluator local bots run; with remote bots, each bot's own `--exec`. */
  command?: string;
  /** `local` (the default): bots in this process; `remote`: bots that join over HTTP (`orchestra bot`). */
  bots?: string;
  /** The API's port, with remote bots or --ui (0: any free one). */
  port?: number;
  /** Serve the API and the dashboard while the study runs. */
  ui?: boolean;
  budget: number;
  seed?: number;
  out: string;
  population?: number;
  parallel?: number;
  timeoutMs?: number;
  resume?: boolean;
  json?: boolean;
  /** `--drift on|off`: environment-change detection (experiment.drift.enabled). */
  drift?: boolean;
  /** A JSON file: an array of combinations evaluated first. */
  enqueue?: string;
}

const STUDY_ID = 'optimize';

export interface OptimizeEvaluation {
  /** 1-based, in the order the evaluations were handed out (the evaluator's stdin `trial` is this − 1). */
  trial: number;
  variables: JsonValue;
  success: boolean;
  value: number | null;
  /** Every other number the evaluator printed. */
  metrics: Record<string, number>;
  reason?: string;
  /** When it started (its recorded end less its duration), ISO; null when it never reported (a lost lease). */
  startedAt: string | null;
  durationMs: number | null;
  bot: string | null;
  attempt: number | null;
}

/** An environment change the study's analysis detected. */
export interface OptimizeDrift {
  generation: number;
  at: string;
  /** The first trial (1-based) of the changed landscape, when known. */
  sinceTrial: number | null;
  baseline: number | null;
  recent: number | null;
  drop: number | null;
}

export interface OptimizeResult {
  /**
   * The recommendation: its probability of success as the recommendation's model estimates it (with a 95 %
   * interval), and the success rate observed over its own tests since the last change, with their number.
   */
  best: { variables: JsonValue; value: number; successProbability?: { p: number; low: number; high: number }; observedSuccessRate: number; tests: number } | null;
  evaluations: number;
  history: OptimizeEvaluation[];
  drift: OptimizeDrift[];
}

/**
 * A bounded study on local bots against an external evaluator: the same
 * registry, bot agent, variable agent and evolution as `orchestra start`, with
 * one evaluation per new combination, one attempt per evaluation (so the
 * evaluator never runs more than `--budget` times, failures included), and a
 * temporary store of its own unless `--data` or DATABASE_URL names one.
 */
export async function optimizeCommand(globals: GlobalFlags, options: OptimizeOptions, io: CliIo): Promise<void> {
  const shutdown = listenForShutdown();
  try {
    const space = readSpace(path.resolve(io.cwd, options.space));
    checkOutput(options.out === STDOUT_PATH ? STDOUT_PATH : path.resolve(io.cwd, options.out), options.out);
    const enqueue = options.enqueue === undefined ? undefined : readEnqueued(options.enqueue, path.resolve(io.cwd, options.enqueue), space);
    const remote = (options.bots ?? 'local') === 'remote';
    if (!['local', 'remote'].includes(options.bots ?? 'local')) throw badArgument(`--bots ${options.bots} is not local or remote`);
    if (remote && options.parallel !== undefined) throw badArgument('--parallel sets the local bots; with --bots remote each bot joins with its own --capacity');
    if (!remote && !options.command?.trim()) throw badArgument('--command must name the evaluator to run (or give --bots remote: bots that join run their own)');
    if (remote && options.command !== undefined) throw badArgument('with --bots remote the evaluator is each bot\'s --exec test=COMMAND, not --command');
    // Forked now, while this process is small: evaluators start from it, not from a process holding the study's database.
    if (!remote) processLauncher.start();
    if (!remote && !options.ui && options.port !== undefined) throw badArgument('--port serves the API (bots join it, the dashboard reads it): it goes with --bots remote or --ui');
    const persistent = globals.data !== undefined || Boolean(io.env.DATABASE_URL) || globals.databaseUrl !== undefined;
    if (options.resume && !persistent) throw badArgument('--resume needs the store of the interrupted study: give its --data folder (or DATABASE_URL)');
    const loaded = loadConfig(
      globals,
      // An optimization runs its bots in this process: the in-process bus, whatever REDIS_URL says.
      { ...io, env: { ...io.env, REDIS_URL: undefined } },
      [
        { path: 'experiment.budget', flag: '--budget', value: options.budget },
        { path: 'experiment.seed', flag: '--seed', value: options.seed },
        { path: 'experiment.population', flag: '--population', value: options.population },
        { path: 'api.port', flag: '--port', value: options.port },
        { path: 'experiment.drift.enabled', flag: '--drift', value: options.drift },
      ],
      { ...OPTIMIZE_DEFAULTS, 'experiment.population': optimizePopulation(options.budget), 'fleet.waitingPerBot': optimizeWaitingPerBot(options.parallel ?? OPTIMIZE_PARALLEL) },
    );
    // Without a store named, the study lives in memory and goes with the process: an embedded
    // database in memory starts in about half the time of one in a new folder, and keeps this
    // process (which starts every evaluator) smaller, so each launch forks less.
    const config = persistent ? loaded : { ...loaded, store: { ...loaded.store, dataDir: IN_MEMORY } };
    const stderr = new SharedStderr(io.stderr);
    const runtime = await openRuntime({ ...config, bus: { ...config.bus, redisUrl: undefined } }, { logger: createLogger({ level: config.logLevel, destination: stderr }) });
    let api: ServedApi | undefined;
    let remoteOnline = 0;
    // Remote bots are counted from the store for the progress line; local ones are this process's agents.
    const countBots = remote
      ? setInterval(() => void listBots(runtime.db).then((bots) => (remoteOnline = bots.filter((b) => b.state === 'online').length), () => undefined), 1_000).unref()
      : undefined;
    try {
      const existing = await getStudy(runtime.db, STUDY_ID);
      if (existing && !options.resume) {
        throw badArgument(`this store already holds a study (${existing.trials} evaluations): add --resume to continue it, or use another --data folder`);
      }
      const parallel = options.parallel ?? OPTIMIZE_PARALLEL;
      // The study's settings come from the configuration like every command's (flags first, then the
      // environment, the file, optimize's own defaults, the parts' defaults); the budget is this run's.
      const { bots: _simulated, ...fleetSettings } = config.fleet;
      // An evaluator that cannot work (not found, not executable, printing no evaluation) would spend the whole budget failing.
      const watch = new FailureWatch();
      const system = buildExperiment(runtime, {
        studyId: STUDY_ID,
        space,
        workload: 'command',
        evaluator: watch.wrap(commandEvaluator(options.command ?? 'false', { clock: systemClock, cwd: io.cwd, timeoutMs: options.timeoutMs ?? OPTIMIZE_EVALUATION_TIMEOUT_MS })),
        experiment: config.experiment,
        fleet: fleetSettings,
        // Remote bots are never more than the budget's evaluations either: each test has one attempt.
        bots: remote ? [] : Array.from({ length: parallel }, (_, i) => ({ botId: `local-${i + 1}` })),
        seed: config.experiment.seed,
        full: false,
        ...(enqueue ? { enqueue } : {}),
      });
      const startedAt = runtime.clock.now();
      if (options.resume) await reclaimEarlierRun(runtime, STUDY_ID);
      if (remote) api = await inviteBots(runtime, stderr, options.port !== undefined);
      else if (options.ui) api = await serveApi(runtime, stderr, { required: true });
      if (options.ui && api) stderr.write(`orchestra: dashboard at ${api.url}/ (sign in with an admin token: the one printed above on a new store)\n`);
      await system.start();
      const progress = new Progress(() => {
        const p = system.variables.progressNow;
        const best = p.best?.mean === null || p.best === undefined ? '-' : String(Number(p.best.mean.toPrecision(6)));
        const online = remote ? remoteOnline : system.bots.filter((b) => b.state === 'running').length;
        return `[${elapsed(startedAt, runtime.clock.now())}] generation ${p.generation} · ${p.evaluations}/${options.budget} evaluations · best ${best} · ${online} bots`;
      }, stderr, runtime.clock, { plainIntervalMs: config.progress.intervalMs });
      const ended = await Promise.race([
        system.variables.finished().then(() => 'finished' as const),
        shutdown.requested.then(() => 'interrupted' as const),
        watch.hopeless,
      ]);
      const interrupted = ended === 'interrupted';
      if (typeof ended === 'object') {
        // The bots give back what they hold at once (the evaluator is not run again), and the
        // evaluations that showed it hopeless are recorded before the study stops.
        await Promise.all(system.bots.map((b) => system.botAgent.sendCommand(stopCommand, { reason: 'the evaluator cannot work' }, { to: b.id })));
        await recorded(runtime, watch.failures);
      }
      progress.stop();
      if (interrupted) io.stderr.write(`orchestra: ${shutdown.signal}: stopping the evaluations; a second signal exits at once\n`);
      await system.stop();
      if (system.variables.studyFailure) throw system.variables.studyFailure;
      const result = await collectResult(runtime);
      const toStdout = options.out === STDOUT_PATH;
      const json = `${JSON.stringify(result, null, 2)}\n`;
      try {
        await writeOutput(toStdout ? STDOUT_PATH : path.resolve(io.cwd, options.out), json, io);
      } catch (err) {
        if (toStdout) throw err;
        // Checked at the start, the place went away or filled up since: the result is not lost with it.
        io.stdout.write(json);
        throw new OrchestraError('ORC_CLI_OUTPUT_UNWRITTEN', `could not write --out ${options.out} (${(err as Error).message}); the result went to standard output instead`);
      }
      // With the result on standard output, what is said about it goes to standard error.
      const said = toStdout ? { ...io, stdout: io.stderr } : io;
      if (options.json) printJson(said, { ...result, history: undefined, out: options.out });
      else print(said, renderResult(result, options.out, runtime.clock.now() - startedAt));
      if (typeof ended === 'object') throw hopelessError(ended);
      const reasons = result.history.filter((h) => !h.success).map((h) => h.reason ?? 'failed');
      const none = result.evaluations > 0 && reasons.length === result.evaluations;
      if (interrupted) {
        throw new OrchestraError(
          'ORC_CLI_TASKS_FAILED',
          `interrupted after ${result.evaluations} evaluations${none ? `, none of which succeeded` : ''}${persistent ? '; continue with --resume and the same --data' : ''}`,
        );
      }
      if (none) throw noSuccessError('evaluation', reasons);
    } finally {
      clearInterval(countBots);
      await api?.close();
      await runtime.close();
    }
  } finally {
    shutdown.dispose();
  }
}

/**
 * `--enqueue FILE`: a JSON array of combinations, each an object of variable
 * values. Checked against the space before anything runs; an error names the
 * entry (from 1) and the variable.
 */
function readEnqueued(shown: string, file: string, space: Space): Combination[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw badArgument(`--enqueue ${shown}: cannot read it: ${(err as Error).message}`);
  }
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (err) {
    throw badArgument(`--enqueue ${shown}: not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(list)) throw badArgument(`--enqueue ${shown}: expected a JSON array of combinations (objects of variable values)`);
  return list.map((entry: unknown, i) => {
    const where = `--enqueue ${shown}: entry ${i + 1}`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw badArgument(`${where}: expected an object of variable values`);
    try {
      return checkCombination(space, entry);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const issue = err.issues.find((x) => x.code === 'ORC_PROTOCOL_UNKNOWN_FIELD') ?? err.issues[0]!;
      const problem =
        issue.code === 'ORC_PROTOCOL_UNKNOWN_FIELD'
          ? `unknown variable ${issue.path} (the space has ${Object.keys(space.variables).sort().join(', ')})`
          : issue.code === 'ORC_PROTOCOL_MISSING_FIELD'
            ? `variable ${issue.path} is missing`
            : `variable ${issue.path}: ${JSON.stringify((entry as Record<string, unknown>)[issue.path])} is outside the space: ${issue.message}`;
      throw badArgument(`${where}: ${problem}`);
    }
  });
}

/** Serves the API remote bots join through, and prints the registration token they need. */
async function inviteBots(runtime: Runtime, stderr: SharedStderr, required: boolean): Promise<ServedApi> {
  const api = await serveApi(runtime, stderr, { required: true });
  if (!api) throw new OrchestraError('ORC_CONFIG_INVALID', `remote bots need the API, and it could not be served${required ? '' : ' (choose a port with --port N)'}`);
  const { token } = await createToken(runtime.db, { name: 'optimize bots', role: 'bot' }, runtime.clock.now());
  stderr.write(`orchestra: waiting for bots; each joins with: ORCHESTRA_TOKEN=${token} orchestra bot --api ${api.url} --exec test=COMMAND\n`);
  return api;
}


/** History in trial order, from the stored results and their tasks; the best as the study recommends it now; the drift the analysis found. */
async function collectResult(runtime: Runtime): Promise<OptimizeResult> {
  const variables = new Map((await listCombinations(runtime.db, STUDY_ID)).map((c) => [c.key, c.variables]));
  const results = (await listResults(runtime.db, STUDY_ID)).filter((r) => r.generation >= 0);
  const tasks = new Map((await runtime.registry.getMany(results.map((r) => r.taskId))).map((t) => [t.taskId, t]));
  const history = results.map((r): OptimizeEvaluation => {
    const task = tasks.get(r.taskId);
    const durationMs = durationOf(task?.result);
    return {
      trial: r.trial + 1,
      variables: variables.get(r.key) ?? null,
      success: r.success,
      value: r.success ? r.value : null,
      metrics: r.metrics,
      ...(r.success ? {} : { reason: r.reason ?? 'failed' }),
      startedAt: durationMs === null ? null : new Date(r.at - durationMs).toISOString(),
      durationMs,
      bot: r.botId,
      attempt: task?.attempt ?? null,
    };
  });
  return { best: await recommended(runtime), evaluations: history.length, history, drift: await driftOf(runtime) };
}

/** The evaluation's own duration, as its bot reported it with the result. */
function durationOf(result: JsonValue | undefined): number | null {
  return numberOrNull(field(result, 'durationMs'));
}

/** The environment changes in the study's stored analysis reports. */
async function driftOf(runtime: Runtime): Promise<OptimizeDrift[]> {
  const out: OptimizeDrift[] = [];
  for (const { generation, report, createdAt } of await listReports(runtime.db, STUDY_ID)) {
    if (field(report, 'changed') !== true) continue;
    const since = numberOrNull(field(report, 'since'));
    const drift = field(report, 'drift');
    out.push({
      generation,
      at: new Date(createdAt).toISOString(),
      sinceTrial: since === null ? null : since + 1,
      baseline: numberOrNull(field(drift, 'baseline')),
      recent: numberOrNull(field(drift, 'recent')),
      drop: numberOrNull(field(drift, 'drop')),
    });
  }
  return out;
}

function field(value: JsonValue | undefined, name: string): JsonValue | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value[name] : undefined;
}

const numberOrNull = (v: JsonValue | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The study's recommendation for the landscape as it is at the end; the variable agent is stopped, so it comes from the store. */
async function recommended(runtime: Runtime): Promise<OptimizeResult['best']> {
  const best = await bestOf(runtime.db, STUDY_ID);
  if (!best || best.value === null) return null;
  return { variables: best.variables, value: best.value, ...(best.successProbability ? { successProbability: best.successProbability } : {}), observedSuccessRate: best.successRate, tests: best.tests };
}

function renderResult(result: OptimizeResult, out: string, durationMs: number): string {
  const failed = result.history.filter((h) => !h.success).length;
  const lines = [`${result.evaluations} evaluations in ${(durationMs / 1000).toFixed(1)}s (${failed} failed); result in ${out}`];
  if (result.best) lines.push(`best: ${JSON.stringify(result.best.variables)} → ${formatNumber(result.best.value)}${successEstimate(result.best)}`);
  else lines.push('best: none (no evaluation succeeded)');
  if (result.drift.length) lines.push(`environment changes: ${result.drift.length} (from trial ${result.drift.map((d) => d.sinceTrial ?? '?').join(', ')})`);
  return lines.join('\n');
}

/** Waits, briefly, until the study has recorded `count` results: the variable agent records them as their tasks finish. */
async function recorded(runtime: Runtime, count: number): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    if ((await listResults(runtime.db, STUDY_ID)).length >= count) return;
    await runtime.clock.sleep(20);
  }
}

