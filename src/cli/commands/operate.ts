import {
  BOT_AGENT_ID,
  CAMPAIGN_AGENT_ID,
  getStatusRequest,
  isolateBotCommand,
  OrchestraError,
  restartBotCommand,
  startCampaignRequest,
  stopCampaignCommand,
  type Campaign,
} from '../../protocol/index.js';
import { RequestTimeoutError, type Bus } from '../../bus/index.js';
import { getBot, getCampaign, processIsAlive } from '../../store/index.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { CliClient } from '../client.js';
import { ApiClient, apiFromFlag, TOKEN_VARIABLE } from '../api-client.js';
import { readLocalApi } from '../local-api.js';
import { ANSWER_TIMEOUT_MS } from '../defaults.js';

export interface OperateOptions {
  /** The API of the running system; the token comes from ORCHESTRA_TOKEN. */
  api?: string;
  reason?: string;
  timeoutMs?: number;
  json?: boolean;
}

/** How a command reaches the running system: its HTTP API, or the bus it shares (Redis). */
export type Reach = { via: 'api'; api: ApiClient } | { via: 'bus'; client: CliClient; runtime: Runtime & { bus: Bus } };

/**
 * Reaches the running system for an operator action: through `--api URL`
 * when given; else through the bus on Redis; else, on the embedded default,
 * through the API the process holding the data folder announced there, with
 * an admin token from ORCHESTRA_TOKEN. A system that cannot be reached is an
 * error that says which of these to use.
 */
export async function reachSystem<T>(globals: GlobalFlags, options: OperateOptions, io: CliIo, action: string, act: (reach: Reach) => Promise<T>): Promise<T> {
  const given = apiFromFlag(options.api, io.env);
  if (given) return act({ via: 'api', api: given });
  const config = loadConfig(globals, io);
  if (!config.bus.redisUrl) {
    const announced = readLocalApi(config.store.dataDir);
    const token = io.env[TOKEN_VARIABLE];
    if (announced && processIsAlive(announced.pid) && token) return act({ via: 'api', api: new ApiClient({ url: announced.url, token }) });
    if (announced && processIsAlive(announced.pid)) {
      throw new OrchestraError(
        'ORC_CONFIG_INVALID',
        `${action}: process ${announced.pid} runs the system and serves its API at ${announced.url}; set ${TOKEN_VARIABLE} to an admin token (the one start printed on its first run) and run this again`,
      );
    }
    throw new OrchestraError(
      'ORC_CLI_NO_RUNNING_SYSTEM',
      `${action} needs a running system: none holds the embedded data folder ${config.store.dataDir}; start one (orchestra start), or give its API with --api URL and ${TOKEN_VARIABLE}, or its Redis with REDIS_URL`,
    );
  }
  const runtime = (await openRuntime(config, { bus: true })) as Runtime & { bus: Bus };
  const client = new CliClient(runtime);
  try {
    await client.start();
    return await act({ via: 'bus', client, runtime });
  } finally {
    await client.stop();
    await runtime.close();
  }
}

/** On the bus, the agent that would act must answer first: a command left in the inbox of one that is not running would act whenever one next starts. */
async function runningAgent(client: CliClient, agentId: string, action: string, timeoutMs: number): Promise<void> {
  try {
    await client.sendRequest(getStatusRequest, {}, { to: agentId, timeoutMs });
  } catch (err) {
    if (!(err instanceof RequestTimeoutError)) throw err;
    throw new OrchestraError('ORC_CLI_NO_RUNNING_SYSTEM', `no ${agentId} agent answered within ${timeoutMs} ms on this REDIS_URL and prefix: ${action} was not sent`);
  }
}

const segment = encodeURIComponent;

/** `orchestra bots restart|isolate ID`. */
export async function botsActionCommand(globals: GlobalFlags, action: 'restart' | 'isolate', botId: string, options: OperateOptions, io: CliIo): Promise<void> {
  const contract = action === 'restart' ? restartBotCommand : isolateBotCommand;
  const reason = options.reason?.trim() || `${contract.name} from the command line`;
  const via = await reachSystem(globals, options, io, contract.name, async (reach) => {
    if (reach.via === 'api') {
      await reach.api.post(`/api/bots/${segment(botId)}/${action}`, { reason });
      return 'api';
    }
    if (!(await getBot(reach.runtime.db, botId))) throw new OrchestraError('ORC_AGENT_NOT_FOUND', `no bot has id ${botId}`);
    await runningAgent(reach.client, BOT_AGENT_ID, contract.name, options.timeoutMs ?? ANSWER_TIMEOUT_MS);
    await reach.client.sendCommand(contract, { botId, reason });
    return 'bus';
  });
  if (options.json) return printJson(io, { action: contract.name, botId, via });
  print(io, `bot ${botId}: ${contract.name} sent to the running system (${via}); orchestra bots shows its state`);
}

export interface CampaignStartOptions extends OperateOptions {
  runs: number;
  perMinute?: number;
}

/** `orchestra campaigns start --runs N`: the running campaign agent runs its study's best combination. */
export async function campaignsStartCommand(globals: GlobalFlags, options: CampaignStartOptions, io: CliIo): Promise<void> {
  const data = { runs: options.runs, ...(options.perMinute === undefined ? {} : { perMinute: options.perMinute }) };
  const campaign = await reachSystem(globals, options, io, 'start_campaign', async (reach): Promise<Campaign> => {
    if (reach.via === 'api') return (await reach.api.post<{ campaign: Campaign }>('/api/campaigns', data)).campaign;
    const timeoutMs = options.timeoutMs ?? ANSWER_TIMEOUT_MS;
    await runningAgent(reach.client, CAMPAIGN_AGENT_ID, 'start_campaign', timeoutMs);
    return reach.client.sendRequest(startCampaignRequest, data, { timeoutMs });
  });
  if (options.json) return printJson(io, campaign);
  print(io, `campaign ${campaign.campaignId} started: ${campaign.runs} runs of ${campaign.key} (study ${campaign.studyId})${options.perMinute ? `, ${options.perMinute} a minute at most` : ''}`);
}

/** `orchestra campaigns stop ID`. */
export async function campaignsStopCommand(globals: GlobalFlags, campaignId: string, options: OperateOptions, io: CliIo): Promise<void> {
  const via = await reachSystem(globals, options, io, 'stop_campaign', async (reach) => {
    if (reach.via === 'api') {
      await reach.api.post(`/api/campaigns/${segment(campaignId)}/stop`);
      return 'api';
    }
    if (!(await getCampaign(reach.runtime.db, campaignId))) throw new OrchestraError('ORC_AGENT_NOT_FOUND', `no campaign ${campaignId}`);
    await runningAgent(reach.client, CAMPAIGN_AGENT_ID, 'stop_campaign', options.timeoutMs ?? ANSWER_TIMEOUT_MS);
    await reach.client.sendCommand(stopCampaignCommand, { campaignId });
    return 'bus';
  });
  if (options.json) return printJson(io, { action: 'stop_campaign', campaignId, via });
  print(io, `campaign ${campaignId}: stop_campaign sent to the running system (${via}); its runs not yet done are cancelled`);
}
