import { z } from 'zod';
import { CAMPAIGN_AGENT_ID, OrchestraError, startCampaignRequest, stopCampaignCommand } from '../../protocol/index.js';
import { getCampaign } from '../../store/index.js';
import type { ApiDeps, ZodInstance } from '../server.js';
import { campaignsView, resolveStudy } from '../views.js';
import { needsBus, type OperatorAgent } from '../operator.js';

const campaignId = z.object({ campaignId: z.string().min(1).max(200) }).strict();

/** Campaigns: the list, one, start (of the running study's best combination) and stop. */
export async function campaignRoutes(app: ZodInstance, deps: ApiDeps, operator: OperatorAgent | undefined): Promise<void> {
  const known = async (id: string) => {
    const campaign = await getCampaign(deps.db, id);
    if (!campaign) throw new OrchestraError('ORC_AGENT_NOT_FOUND', `no campaign ${id}`);
    return campaign;
  };

  app.get(
    '/api/campaigns',
    { config: { access: 'viewer' }, schema: { summary: 'Campaigns with their progress; with ?study, that study\'s (as `orchestra campaigns --json`)', querystring: z.object({ study: z.string().min(1).max(200).optional() }).strict() } },
    async (request) => campaignsView(deps.db, request.query.study === undefined ? undefined : await resolveStudy(deps.db, request.query.study)),
  );

  app.get('/api/campaigns/:campaignId', { config: { access: 'viewer' }, schema: { summary: 'One campaign', params: campaignId } }, async (request) => ({ campaign: await known(request.params.campaignId) }));

  app.post(
    '/api/campaigns',
    { config: { access: 'admin' }, schema: { summary: "start_campaign: the running campaign agent runs its study's best combination `runs` times, `perMinute` at most", body: startCampaignRequest.data } },
    async (request, reply) => {
      const agent = needsBus(operator, 'start_campaign');
      await agent.running(CAMPAIGN_AGENT_ID, 'start_campaign');
      return reply.code(201).send({ campaign: await agent.sendRequest(startCampaignRequest, request.body, { timeoutMs: agent.timeoutMs }) });
    },
  );

  app.post(
    '/api/campaigns/:campaignId/stop',
    { config: { access: 'admin' }, schema: { summary: 'stop_campaign: the campaign agent cancels the runs not yet done', params: campaignId } },
    async (request, reply) => {
      await known(request.params.campaignId);
      const agent = needsBus(operator, 'stop_campaign');
      await agent.running(CAMPAIGN_AGENT_ID, 'stop_campaign');
      await agent.sendCommand(stopCampaignCommand, { campaignId: request.params.campaignId });
      return reply.code(202).send({ action: 'stop_campaign', campaignId: request.params.campaignId, sent: true });
    },
  );
}
