import { z } from 'zod';
import { defineCommand, defineEvent, defineRequest } from '../contract.js';
import { jsonValue } from '../json.js';
import { studyIdSchema, variablesSchema } from '../test-task.js';

/** The experiment agents: the study's generations, its analysis, and the campaigns that run its best combination. */

export const VARIABLE_AGENT_ID = 'variables';
export const ANALYSIS_AGENT_ID = 'analysis';
export const CAMPAIGN_AGENT_ID = 'campaigns';
/** Where the study's agents announce generations, the end of a study and a changed environment. */
export const EXPERIMENT_TOPIC = 'experiments';
/** Where the campaign agent announces progress and the end of each campaign. */
export const CAMPAIGN_TOPIC = 'campaigns';

const generation = z.number().int().nonnegative();
const nullableNumber = z.number().nullable();

/** What a study recommends: its best combination, and how it was judged. */
export const bestCombinationSchema = z.object({
  studyId: studyIdSchema,
  key: z.string().min(1),
  variables: variablesSchema,
  score: z.number(),
  /** Mean of the objective over its successful tests, in the objective's own units. */
  value: nullableNumber,
  successRate: z.number(),
  tests: z.number().int(),
  /** Its probability of success estimated from every evaluation near it, with a 95 % interval: what `min_success_rate` is checked against. */
  successProbability: z.object({ p: z.number(), low: z.number(), high: z.number() }).optional(),
  classification: z.string(),
  /** True when no combination met the filters and the best elite or significant one stands in. */
  fellBack: z.boolean(),
});
export type BestCombination = z.output<typeof bestCombinationSchema>;

/** `null` while nothing has succeeded yet. */
export const getBestCombinationRequest = defineRequest({
  name: 'get_best_combination',
  to: VARIABLE_AGENT_ID,
  data: z.object({ min_success_rate: z.number().min(0).max(1).optional(), classification: z.enum(['elite', 'significant']).optional() }).strict(),
  reply: bestCombinationSchema.nullable(),
});

export const getGenerationStatsRequest = defineRequest({
  name: 'get_generation_stats',
  to: VARIABLE_AGENT_ID,
  data: z.object({ generation: generation.optional() }).strict(),
  reply: z.object({ studyId: studyIdSchema, generation, state: z.string(), tests: z.number().int(), testsDone: z.number().int(), stats: jsonValue }),
});

/** The next generation starts without waiting for the cadence; a stopped study runs again. */
export const triggerTestRequest = defineRequest({
  name: 'trigger_test',
  to: VARIABLE_AGENT_ID,
  data: z.object({}).strict(),
  reply: z.object({ studyId: studyIdSchema, state: z.string(), generation: z.number().int() }),
});

export const stopTestCommand = defineCommand({ name: 'stop_test', to: VARIABLE_AGENT_ID, data: z.object({ reason: z.string().max(500).optional() }).strict() });

export const newGenerationCreatedEvent = defineEvent({
  name: 'new_generation_created',
  topic: EXPERIMENT_TOPIC,
  data: z.object({
    studyId: studyIdSchema,
    generation,
    combinations: z.number().int(),
    tests: z.number().int(),
    retests: z.number().int(),
    /** The elite the generation was evolved from: 0 for the first. */
    elite_count: z.number().int().nonnegative(),
  }),
});

/** A generation's tests are in and scored: its best and mean score, and the study's recommendation after it. */
export const generationScoredEvent = defineEvent({
  name: 'generation_scored',
  topic: EXPERIMENT_TOPIC,
  data: z.object({
    studyId: studyIdSchema,
    generation,
    tests: z.number().int().nonnegative(),
    successes: z.number().int().nonnegative(),
    bestScore: nullableNumber,
    meanScore: nullableNumber,
    /** The key of the combination the study recommends now, if any. */
    recommended: z.string().nullable(),
    environmentChange: z.boolean(),
  }),
});

export const studyFinishedEvent = defineEvent({
  name: 'study_finished',
  topic: EXPERIMENT_TOPIC,
  data: z.object({ studyId: studyIdSchema, generation, evaluations: z.number().int() }),
});

/** A generation's analysis report, as `analyze_generation` and `get_report` give it. */
export const analysisReportSchema = z.object({
  studyId: studyIdSchema,
  generation,
  best: nullableNumber,
  mean: nullableNumber,
  diversity: nullableNumber,
  convergence: nullableNumber,
  successRate: nullableNumber,
  model: z.string(),
  predictionError: nullableNumber,
  predictions: z.array(z.object({ key: z.string(), next: z.number(), points: z.number().int() })),
  elite: z.array(z.string()),
  /** Whether the environment changed under the elite. */
  changed: z.boolean(),
  /** The first trial the change is seen in: the evidence from it on is of the new landscape. */
  since: z.number().int().nonnegative().nullable(),
  drift: jsonValue,
});
export type AnalysisReport = z.output<typeof analysisReportSchema>;

export const analyzeGenerationRequest = defineRequest({
  name: 'analyze_generation',
  to: ANALYSIS_AGENT_ID,
  data: z.object({ studyId: studyIdSchema, generation }).strict(),
  reply: analysisReportSchema,
});

export const getReportRequest = defineRequest({
  name: 'get_report',
  to: ANALYSIS_AGENT_ID,
  data: z.object({ studyId: studyIdSchema, generation: generation.optional() }).strict(),
  reply: analysisReportSchema,
});

/** An alert: the elite's recent results fell below their baseline by more than noise explains. */
export const environmentChangeDetectedEvent = defineEvent({
  name: 'environment_change_detected',
  topic: EXPERIMENT_TOPIC,
  data: z.object({ studyId: studyIdSchema, generation, baseline: nullableNumber, recent: nullableNumber, drop: nullableNumber, since: z.number().int().nullable() }),
});

export const campaignSchema = z.object({
  campaignId: z.string(),
  studyId: studyIdSchema,
  key: z.string(),
  variables: variablesSchema,
  runs: z.number().int(),
  registered: z.number().int(),
  done: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  meanValue: nullableNumber,
  /** `running`, `finished` or `stopped`. */
  state: z.string(),
  perMinute: nullableNumber,
});
export type Campaign = z.output<typeof campaignSchema>;

export const startCampaignRequest = defineRequest({
  name: 'start_campaign',
  to: CAMPAIGN_AGENT_ID,
  data: z.object({ runs: z.number().int().min(1).max(100_000), perMinute: z.number().positive().optional() }).strict(),
  reply: campaignSchema,
});

export const getCampaignStatusRequest = defineRequest({
  name: 'get_campaign_status',
  to: CAMPAIGN_AGENT_ID,
  data: z.object({ campaignId: z.string().min(1) }).strict(),
  reply: campaignSchema,
});

export const listCampaignsRequest = defineRequest({ name: 'list_campaigns', to: CAMPAIGN_AGENT_ID, data: z.object({}).strict(), reply: z.object({ campaigns: z.array(campaignSchema) }) });

export const stopCampaignCommand = defineCommand({ name: 'stop_campaign', to: CAMPAIGN_AGENT_ID, data: z.object({ campaignId: z.string().min(1) }).strict() });

/** A running campaign's counts changed. */
export const campaignProgressEvent = defineEvent({
  name: 'campaign_progress',
  topic: CAMPAIGN_TOPIC,
  data: z.object({ campaignId: z.string(), runs: z.number().int(), succeeded: z.number().int(), failed: z.number().int(), meanValue: nullableNumber }),
});

export const campaignFinishedEvent = defineEvent({
  name: 'campaign_finished',
  topic: CAMPAIGN_TOPIC,
  data: z.object({ campaignId: z.string(), succeeded: z.number().int(), failed: z.number().int(), meanValue: nullableNumber }),
});
