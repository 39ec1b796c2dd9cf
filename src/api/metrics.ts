import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { tasksFinishedEvent } from '../protocol/index.js';
import { countRecords, countTasksByKind, listBots, listCampaigns, listReports, listStudies } from '../store/index.js';
import type { ApiDeps } from './server.js';
import type { EventStream } from './events.js';
import { LATENCY_BUCKETS } from './telemetry.js';

/**
 * The Prometheus metrics of the system as its store holds it, read when
 * scraped (so every process serving the API reports the same figures), and
 * this process's own (CPU, memory, event loop lag, …).
 */
export function createMetrics(deps: ApiDeps, stream?: EventStream): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: 'orchestra_' });
  const gauge = (name: string, help: string, labelNames: readonly string[], collect: (g: Gauge<string>) => Promise<void>) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [register],
      async collect() {
        this.reset();
        await collect(this);
      },
    });

  gauge('orchestra_tasks', 'Tasks by status and priority', ['status', 'priority'], async (g) => {
    for (const cell of (await deps.registry.counts()).cells) g.set({ status: cell.status, priority: String(cell.priority) }, cell.count);
  });
  gauge('orchestra_tasks_by_kind', 'Tasks by kind and status', ['kind', 'status'], async (g) => {
    for (const row of await countTasksByKind(deps.db)) g.set({ kind: row.kind, status: row.status }, row.count);
  });
  gauge('orchestra_queue_depth', 'Tasks waiting to run (PENDING)', [], async (g) => {
    g.set((await deps.registry.counts()).byStatus.PENDING);
  });
  gauge('orchestra_dead_letters', 'Malformed messages recorded with their reason', [], async (g) => {
    g.set((await countRecords(deps.db)).deadLetters);
  });
  gauge('orchestra_late_reports', 'Reports from attempts that had lost their lease, kept for the record', [], async (g) => {
    g.set((await countRecords(deps.db)).lateReports);
  });
  gauge('orchestra_bots', 'Bots by state', ['state'], async (g) => {
    const byState = new Map<string, number>();
    for (const bot of await listBots(deps.db)) byState.set(bot.state, (byState.get(bot.state) ?? 0) + 1);
    for (const [state, n] of byState) g.set({ state }, n);
  });
  gauge('orchestra_generation_score', "The latest analysed generation's best and mean score, per study", ['study', 'stat'], async (g) => {
    for (const study of await listStudies(deps.db)) {
      const latest = (await listReports(deps.db, study.studyId)).at(-1)?.report as { best?: unknown; mean?: unknown } | undefined;
      if (typeof latest?.best === 'number') g.set({ study: study.studyId, stat: 'best' }, latest.best);
      if (typeof latest?.mean === 'number') g.set({ study: study.studyId, stat: 'mean' }, latest.mean);
    }
  });
  gauge('orchestra_study_generation', 'The generation each study is at', ['study', 'state'], async (g) => {
    for (const study of await listStudies(deps.db)) g.set({ study: study.studyId, state: study.state }, study.generation);
  });
  gauge('orchestra_campaign_runs', "Campaign runs by outcome: the campaign's total, succeeded and failed", ['campaign', 'outcome'], async (g) => {
    for (const c of await listCampaigns(deps.db)) {
      g.set({ campaign: c.campaignId, outcome: 'total' }, c.runs);
      g.set({ campaign: c.campaignId, outcome: 'succeeded' }, c.succeeded);
      g.set({ campaign: c.campaignId, outcome: 'failed' }, c.failed);
    }
  });
  if (stream) {
    gauge('orchestra_api_event_clients', 'Clients following /events on this process', [], async (g) => g.set(stream.connected));
    // Every worker of the system announces each attempt it finished on the bus: this process counts them all.
    const run = new Histogram({ name: 'orchestra_task_run_seconds', help: 'How long attempts ran, by kind and outcome (COMPLETED, FAILED, or PENDING for one that will be retried)', labelNames: ['kind', 'status'], buckets: LATENCY_BUCKETS, registers: [register] });
    const wait = new Histogram({ name: 'orchestra_task_wait_seconds', help: 'From when an attempt could run (registered, or its backoff over) to when a worker started it, by kind', labelNames: ['kind'], buckets: LATENCY_BUCKETS, registers: [register] });
    stream.observe((event) => {
      if (event.action !== tasksFinishedEvent.name) return;
      const parsed = tasksFinishedEvent.data.safeParse(event.data);
      if (!parsed.success) return;
      for (const task of parsed.data.tasks) {
        run.observe({ kind: task.kind, status: task.status }, task.durationMs / 1000);
        if (task.waitedMs !== undefined) wait.observe({ kind: task.kind }, task.waitedMs / 1000);
      }
    });
    gauge('orchestra_api_event_clients_dropped', 'Clients of /events this process dropped for reading too slowly, since it started', [], async (g) => g.set(stream.dropped));
  }
  return deps.telemetry ? Registry.merge([register, deps.telemetry.registry]) : register;
}
