import { OrchestraError, type AgentStatus } from '../../protocol/index.js';
import { DataDirLockedError, getStudy, setStudyState } from '../../store/index.js';
import type { Bus } from '../../bus/index.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { CliClient } from '../client.js';
import { ANSWER_TIMEOUT_MS } from '../defaults.js';
import { ApiClient, apiFromFlag, TOKEN_VARIABLE } from '../api-client.js';
import { readLocalApi } from '../local-api.js';
import { resolveStudy } from '../../api/index.js';

export interface ControlOptions {
  study?: string;
  /** The API of the running system; the token comes from ORCHESTRA_TOKEN. */
  api?: string;
  timeoutMs?: number;
  reason?: string;
  json?: boolean;
}

const DEFAULT_TIMEOUT_MS = ANSWER_TIMEOUT_MS;

interface Reached {
  runtime: Runtime;
  studyId: string;
  /** The variable agent that answered on the bus, driving this study; absent when none did. */
  agent: AgentStatus | undefined;
  client: CliClient | undefined;
}

/**
 * Opens the store and, on Redis, asks the running system's variable agent
 * which study it drives, before anything is sent: a command left in the
 * stream of an agent that is not running would act when one next starts.
 */
async function reach<T>(
  globals: GlobalFlags,
  options: ControlOptions,
  io: CliIo,
  action: 'trigger_test' | 'stop_test',
  act: (reached: Reached) => Promise<T>,
): Promise<T | undefined> {
  const given = apiFromFlag(options.api, io.env);
  if (given) return void (await overApi(given, options, io, action));
  const config = loadConfig(globals, io);
  let runtime: Runtime;
  try {
    runtime = await openRuntime(config, { bus: Boolean(config.bus.redisUrl) });
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    // The process holding the folder serves its API: with an admin token, the action goes through it.
    const announced = readLocalApi(err.dataDir, err.ownerPid);
    const token = io.env[TOKEN_VARIABLE];
    if (announced && token) return void (await overApi(new ApiClient({ url: announced.url, token }), options, io, action));
    throw new OrchestraError(
      'ORC_STORE_DATA_DIR_LOCKED',
      `${action} cannot reach the study: process ${err.ownerPid} (a running orchestra start) holds the embedded data folder ${err.dataDir}` +
        (announced
          ? ` and serves its API at ${announced.url}: set ${TOKEN_VARIABLE} to an admin token (the one start printed on its first run) to send ${action} through it`
          : `, and on the embedded default no other process can reach its agents; stop that process with Ctrl-C (SIGINT to ${err.ownerPid}), or run the system on Redis and PostgreSQL (REDIS_URL, DATABASE_URL) to send ${action} from another process`),
      false,
      { cause: err },
    );
  }
  const client = runtime.bus ? new CliClient(runtime as Runtime & { bus: Bus }) : undefined;
  try {
    const studyId = await resolveStudy(runtime.db, options.study);
    await client?.start();
    const agent = await client?.variableAgent(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const drives = agent?.details['studyId'];
    if (agent && drives !== studyId) {
      throw new OrchestraError('ORC_CLI_NO_RUNNING_SYSTEM', `the running system drives study ${String(drives)}, not ${studyId}: ${action} was not sent`);
    }
    return await act({ runtime, studyId, agent, client });
  } finally {
    await client?.stop();
    await runtime.close();
  }
}

function nobodyAnswered(reached: Reached, options: ControlOptions): string {
  return reached.runtime.bus
    ? `no running system answered for study ${reached.studyId} within ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms on this REDIS_URL and prefix`
    : `no running system holds study ${reached.studyId} (on the embedded default, nothing holds the data folder; without Redis no bus reaches another process)`;
}

/** `orchestra trigger`: has the running variable agent start its next generation now, whatever the cadence says. */
export async function triggerCommand(globals: GlobalFlags, options: ControlOptions, io: CliIo): Promise<void> {
  await reach(globals, options, io, 'trigger_test', async (reached) => {
    if (!reached.agent || !reached.client) {
      throw new OrchestraError(
        'ORC_CLI_NO_RUNNING_SYSTEM',
        `${nobodyAnswered(reached, options)}: trigger_test needs the running system; orchestra start resumes a stopped study by itself`,
      );
    }
    const reply = await reached.client.triggerTest(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    if (options.json) return printJson(io, { action: 'trigger_test', via: 'bus', ...reply });
    print(io, `study ${reply.studyId}: trigger_test accepted; the study is ${reply.state} (generation ${reply.generation})`);
  });
}

/**
 * `orchestra stop`: stop_test to the running variable agent on Redis; with
 * no system answering, the stop is recorded in the store, where a system
 * sharing it (PostgreSQL) sees it at its next check of the study.
 */
export async function stopCommand(globals: GlobalFlags, options: ControlOptions, io: CliIo): Promise<void> {
  await reach(globals, options, io, 'stop_test', async (reached) => {
    const { runtime, studyId } = reached;
    if (reached.agent && reached.client) {
      await reached.client.stopTest(options.reason);
      if (options.json) return printJson(io, { action: 'stop_test', via: 'bus', studyId });
      return print(io, `study ${studyId}: stop_test sent to the running system; run orchestra start again to resume the study`);
    }
    const state = (await getStudy(runtime.db, studyId))!.state;
    if (state !== 'running') {
      if (options.json) return printJson(io, { action: 'stop_test', via: 'none', studyId, state });
      return print(io, `study ${studyId} is ${state} already; nothing to stop`);
    }
    await setStudyState(runtime.db, studyId, 'stopped', runtime.clock.now());
    if (options.json) return printJson(io, { action: 'stop_test', via: 'store', studyId, state: 'stopped' });
    print(io, `study ${studyId}: ${nobodyAnswered(reached, options)}; marked stopped in the store, where a system sharing it stops at its next check; orchestra start resumes it`);
  });
}

/** trigger_test or stop_test through the running system's HTTP API. */
async function overApi(api: ApiClient, options: ControlOptions, io: CliIo, action: 'trigger_test' | 'stop_test'): Promise<void> {
  const studyId = await api.study(options.study);
  const path = `/api/studies/${encodeURIComponent(studyId)}`;
  if (action === 'trigger_test') {
    const reply = await api.post<{ studyId: string; state: string; generation: number }>(`${path}/trigger`);
    if (options.json) return printJson(io, { action, via: 'api', ...reply });
    return print(io, `study ${reply.studyId}: trigger_test accepted; the study is ${reply.state} (generation ${reply.generation})`);
  }
  const reply = await api.post<{ via: 'bus' | 'store' | 'none'; studyId: string; state?: string }>(`${path}/stop`, options.reason === undefined ? {} : { reason: options.reason });
  if (options.json) return printJson(io, { ...reply, through: 'api' });
  if (reply.via === 'none') return print(io, `study ${reply.studyId} is ${reply.state} already; nothing to stop`);
  print(io, `study ${reply.studyId}: stop_test ${reply.via === 'bus' ? 'sent to the running system' : 'recorded in the store'} through its API; run orchestra start again to resume the study`);
}
