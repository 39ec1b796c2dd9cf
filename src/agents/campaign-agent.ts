import { randomBytes } from 'node:crypto';
import {
  assignCampaignTaskRequest,
  CAMPAIGN_AGENT_ID,
  campaignFinishedEvent,
  campaignProgressEvent,
  describeError,
  getBestCombinationRequest,
  getCampaignStatusRequest,
  listCampaignsRequest,
  OrchestraError,
  startCampaignRequest,
  stopCampaignCommand,
  taskCompletedEvent,
  type Campaign,
  type TimerHandle,
} from '../protocol/index.js';
import type { TaskRegistry } from '../registry/index.js';
import { addRegistered, getCampaign, insertCampaign, listCampaigns, setCampaignProgress, type CampaignRow, type Db } from '../store/index.js';
import { campaignFinished, campaignMean, campaignRunAt, tallyCampaignRuns, type CampaignTally } from '../evolution/index.js';
import { experimentConfig } from './experiment-config.js';
import { BaseAgent, type AgentDeps } from './base-agent.js';

export interface CampaignAgentDeps extends AgentDeps {
  db: Db;
  registry: TaskRegistry;
  /** The workload the campaign's runs use. */
  workload: string;
  /** How often running campaigns are recounted from the registry, besides on completions. Default: `experiment.campaignPollMs`. */
  pollMs?: number;
  /** Only bots of this group and role run the campaigns' runs; any bot when unset. */
  botGroup?: string;
  botRole?: string;
}

const runId = (campaignId: string, i: number) => `${campaignId}-run-${i}`;
const REGISTER_BATCH = 500;

/**
 * Runs campaigns: takes the best combination of a study (from the variable
 * agent), has the fleet run it a given number of times, at once or at a
 * rate (runs are registered with staggered start times, so the registry
 * holds the schedule and a restart loses nothing), and tracks progress and
 * results from the registry.
 *
 * Requests: `start_campaign` `{studyId?, runs, perMinute?}`, `get_campaign_status`
 * `{campaignId}`, `list_campaigns`. Command: `stop_campaign` `{campaignId}`.
 * Events: `campaign_progress`, `campaign_finished`.
 */
export class CampaignAgent extends BaseAgent {
  private readonly db: Db;
  private readonly registry: TaskRegistry;
  private readonly workload: string;
  private readonly target: { group?: string; role?: string };
  private readonly pollMs: number;
  private timer: TimerHandle | undefined;
  private counting: Promise<void> | undefined;

  constructor(deps: CampaignAgentDeps, id = CAMPAIGN_AGENT_ID) {
    super(id, 'campaigns', deps);
    this.db = deps.db;
    this.registry = deps.registry;
    this.workload = deps.workload;
    this.target = { ...(deps.botGroup ? { group: deps.botGroup } : {}), ...(deps.botRole ? { role: deps.botRole } : {}) };
    this.pollMs = deps.pollMs ?? experimentConfig.parse({}).campaignPollMs;
    this.onRequest(startCampaignRequest, async (input) => campaignJson(await this.start_(input.runs, input.perMinute)));
    this.onRequest(getCampaignStatusRequest, async ({ campaignId }) => campaignJson(await this.get(campaignId)));
    this.onRequest(listCampaignsRequest, async () => ({ campaigns: (await listCampaigns(this.db)).map(campaignJson) }));
    this.onCommand(stopCampaignCommand, async ({ campaignId }) => {
      const c = await this.get(campaignId);
      const ids = Array.from({ length: c.registered }, (_, i) => runId(campaignId, i));
      for (const t of await this.registry.getMany(ids)) {
        if (t.status === 'PENDING' || t.status === 'RUNNING') await this.registry.cancel(t.taskId, `campaign ${campaignId} stopped`).catch(() => undefined);
      }
      await this.recount(c, 'stopped');
    });
    this.onEvent(taskCompletedEvent, () => void this.recountAll());
  }

  /** Starts a campaign of the best combination the variable agent knows. */
  async start_(runs: number, perMinute?: number): Promise<CampaignRow> {
    const best = await this.sendRequest(getBestCombinationRequest, {});
    if (!best) throw new OrchestraError('ORC_AGENT_NOT_FOUND', 'no combination has been tested enough to run a campaign yet');
    const campaignId = `c-${randomBytes(4).toString('hex')}`;
    const now = this.clock.now();
    const campaign = await insertCampaign(this.db, { campaignId, studyId: best.studyId, key: best.key, variables: best.variables, runs, perMinute: perMinute ?? null }, now);
    for (let i = 0; i < runs; i += REGISTER_BATCH) {
      const batch = Array.from({ length: Math.min(REGISTER_BATCH, runs - i) }, (_, j) => {
        const n = i + j;
        return {
          taskId: runId(campaignId, n),
          campaignId,
          workload: this.workload,
          studyId: best.studyId,
          key: best.key,
          variables: best.variables,
          trial: n,
          generation: -1,
          ...this.target,
          ...(perMinute ? { runAt: campaignRunAt(now, n, perMinute)! } : {}),
        };
      });
      await this.sendRequest(assignCampaignTaskRequest, { runs: batch });
      await addRegistered(this.db, campaignId, batch.length, this.clock.now());
    }
    this.logger.info({ campaignId, runs, key: best.key }, 'campaign started');
    return (await getCampaign(this.db, campaign.campaignId))!;
  }

  protected override async run(): Promise<void> {
    this.schedule();
  }

  protected override async cleanup(): Promise<void> {
    this.clock.clearTimeout(this.timer);
    await this.counting;
  }

  private async get(campaignId: string): Promise<CampaignRow> {
    const c = await getCampaign(this.db, campaignId);
    if (!c) throw new OrchestraError('ORC_AGENT_NOT_FOUND', `no campaign ${campaignId}`);
    return c;
  }

  private recountAll(): Promise<void> {
    this.counting ??= (async () => {
      for (const c of await listCampaigns(this.db)) if (c.state === 'running') await this.recount(c);
    })()
      .catch((err: unknown) => this.logger.warn({ err: describeError(err) }, 'campaign progress not updated'))
      .finally(() => (this.counting = undefined));
    return this.counting;
  }

  /** Progress as the registry holds it: runs that finished, those that succeeded, and the sum of their values. */
  private async recount(c: CampaignRow, stateOverride?: string): Promise<void> {
    let tally: CampaignTally = { succeeded: 0, failed: 0, valueSum: 0 };
    for (let i = 0; i < c.registered; i += 1000) {
      const ids = Array.from({ length: Math.min(1000, c.registered - i) }, (_, j) => runId(c.campaignId, i + j));
      tally = tallyCampaignRuns(await this.registry.getMany(ids), tally);
    }
    const state = stateOverride ?? (campaignFinished(tally, c.runs) ? 'finished' : 'running');
    await setCampaignProgress(this.db, c.campaignId, { ...tally, state }, this.clock.now());
    if (tally.succeeded !== c.succeeded || tally.failed !== c.failed) {
      await this.sendEvent(campaignProgressEvent, { campaignId: c.campaignId, runs: c.runs, succeeded: tally.succeeded, failed: tally.failed, meanValue: campaignMean(tally) }).catch(() => undefined);
    }
    if (state === 'finished' && c.state === 'running') {
      await this.sendEvent(campaignFinishedEvent, { campaignId: c.campaignId, succeeded: tally.succeeded, failed: tally.failed, meanValue: campaignMean(tally) }).catch(() => undefined);
    }
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      if (this.state !== 'running') return;
      void this.recountAll().finally(() => this.state === 'running' && this.schedule());
    }, this.pollMs);
  }
}

function campaignJson(c: CampaignRow): Campaign {
  return {
    campaignId: c.campaignId,
    studyId: c.studyId,
    key: c.key,
    variables: c.variables,
    runs: c.runs,
    registered: c.registered,
    done: c.succeeded + c.failed,
    succeeded: c.succeeded,
    failed: c.failed,
    meanValue: campaignMean(c),
    state: c.state,
    perMinute: c.perMinute,
  };
}
