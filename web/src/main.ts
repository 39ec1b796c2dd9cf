/**
 * The Orchestra dashboard: what a running system is doing, live. Sign in with
 * a viewer or admin token; pages read the HTTP API and refresh when the event
 * stream says something changed. Operator actions are shown to admins only
 * (the API refuses them to anyone else anyway), and each asks first.
 */
import { api, ApiFailure, follow, session, type LiveEvent, type Wire } from './api.js';
import { fmt, h, table } from './dom.js';
import { CountsChart, EvaluationsChart, ScoreChart } from './chart.js';
import { importance, parallelCoordinates, type Scored } from './analysis.js';
// The server's own types (erased when built): the pages read what the API sends.
import type { BotView, CombinationView, GenerationView } from '../../src/api/views.js';
import type { StudyBest } from '../../src/agents/study-evidence.js';
import type { CampaignRow, LateReportRow, StudyRow } from '../../src/store/index.js';

type StudyListed = Pick<StudyRow, 'studyId' | 'state' | 'generation' | 'trials' | 'updatedAt'>;

interface Who {
  name: string;
  role: string;
}

let who: Who | undefined;
let stopFollowing: (() => void) | undefined;
const main = document.getElementById('main')!;
const live = document.getElementById('live')!;

const isAdmin = () => who?.role === 'admin';

// ---- routing -------------------------------------------------------------

type Page = (params: string[]) => Promise<HTMLElement>;
const pages: Record<string, Page> = { study: studyPage, fleet: fleetPage, tasks: tasksPage, campaigns: campaignsPage, alerts: alertsPage };

let rendering = 0;
/** Renders under way: a live refresh waits for them rather than overtaking them. */
let inFlight = 0;
async function render(): Promise<void> {
  const [name = 'study', ...params] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const page = pages[name] ?? studyPage;
  const ticket = ++rendering;
  inFlight++;
  try {
    const content = await page(params);
    // A later render started meanwhile: its content wins.
    if (ticket !== rendering) return;
    const typing = typingIn();
    main.replaceChildren(content);
    typing?.();
    document.querySelectorAll<HTMLAnchorElement>('#nav a').forEach((a) => a.setAttribute('aria-current', String(a.getAttribute('href') === `#/${name}`)));
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) return signOut('Your token was refused (revoked or expired). Sign in again.');
    if (ticket === rendering) main.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Could not load this page: ${(err as Error).message}`));
  } finally {
    inFlight--;
  }
}

/** The box the person types in, if any: returns what puts its text and focus back in the page drawn anew. */
function typingIn(): (() => void) | undefined {
  const box = document.activeElement;
  if (!(box instanceof HTMLInputElement) || !box.id || !main.contains(box)) return undefined;
  const { id, value, selectionStart, selectionEnd } = box;
  return () => {
    const again = document.getElementById(id);
    if (!(again instanceof HTMLInputElement)) return;
    again.value = value;
    again.focus();
    if (selectionStart !== null && selectionEnd !== null && again.type !== 'number') again.setSelectionRange(selectionStart, selectionEnd);
  };
}

/** Events arrive in bursts: the page is read again at most once a second. */
let refreshTimer: number | undefined;
function refreshSoon(): void {
  if (refreshTimer !== undefined) return;
  refreshTimer = window.setTimeout(() => {
    refreshTimer = undefined;
    // Not while the person is typing in the page, nor over a render still on its way:
    // on a slow link each refresh would overtake the last and none would ever show.
    if (inFlight > 0 || document.activeElement?.matches('input, select, textarea')) return refreshSoon();
    void render();
  }, 1000);
}

// ---- sign-in -------------------------------------------------------------

function signInPage(message?: string): void {
  document.getElementById('nav')!.hidden = true;
  document.getElementById('who')!.replaceChildren();
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' }) as HTMLInputElement;
  const status = h('p', { role: 'alert', class: 'error' }, message ?? '');
  const form = h(
    'form',
    {
      class: 'signin',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void signIn(input.value.trim(), status);
      },
    },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'A viewer or admin token (orchestra tokens create --role viewer --name NAME). It is kept only while this tab is open.'),
    h('label', { for: 'token' }, 'Token'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    status,
  );
  main.replaceChildren(form);
  input.focus();
}

async function signIn(token: string, status: HTMLElement): Promise<void> {
  session.token = token;
  try {
    who = await api<Who>('GET', '/api/whoami');
  } catch (err) {
    session.token = null;
    status.textContent = err instanceof ApiFailure && (err.status === 401 || err.status === 403) ? 'That token is not a viewer or admin token of this system.' : `Could not sign in: ${(err as Error).message}`;
    return;
  }
  start();
}

function signOut(message?: string): void {
  session.token = null;
  who = undefined;
  stopFollowing?.();
  signInPage(message);
}

function start(): void {
  document.getElementById('nav')!.hidden = false;
  document.getElementById('who')!.replaceChildren(`${who!.name} (${who!.role}) `, h('button', { type: 'button', class: 'link', onclick: () => signOut() }, 'Sign out'));
  stopFollowing?.();
  stopFollowing = follow(
    (_event: LiveEvent) => refreshSoon(),
    (up) => {
      live.textContent = up ? '● live' : '○ reconnecting…';
      live.className = up ? 'live up' : 'live';
      // Back after a drop: what was missed is replayed, and the page read again.
      if (up) refreshSoon();
    },
  );
  void render();
}

// ---- times that tick ------------------------------------------------------

/** "4 s ago" that stays true: once a second only these cells are written again, not the page. */
function ago(at: number): HTMLElement {
  return h('time', { datetime: new Date(at).toISOString(), 'data-ago': at }, fmt.ago(at));
}
window.setInterval(() => {
  for (const el of document.querySelectorAll<HTMLElement>('time[data-ago]')) el.textContent = fmt.ago(Number(el.dataset['ago']));
}, 1000);

// ---- operator actions ----------------------------------------------------

/** A button that asks before it acts, then says what happened; admins only. */
function action(label: string, question: string, run: () => Promise<unknown>, describe: (result: unknown) => string = () => `${label}: done`): HTMLElement | null {
  if (!isAdmin()) return null;
  return h(
    'button',
    {
      type: 'button',
      class: 'action',
      onclick: async (e: Event) => {
        const button = e.currentTarget as HTMLButtonElement;
        if (!window.confirm(question)) return;
        button.disabled = true;
        try {
          notify(describe(await run()));
          refreshSoon();
        } catch (err) {
          notify(`${label} failed: ${(err as Error).message}`, true);
        } finally {
          button.disabled = false;
        }
      },
    },
    label,
  );
}

function notify(text: string, error = false): void {
  let box = document.getElementById('notice');
  if (!box) {
    box = h('p', { id: 'notice', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  box.textContent = text;
  box.className = error ? 'notice error' : 'notice';
}

// ---- pages ---------------------------------------------------------------


const chart = new ScoreChart();
const evaluationsChart = new EvaluationsChart();

/** What the dashboard shows of an analysis report (the store keeps it as JSON; absent figures show as –). */
interface AnalysisFigures {
  best?: number | null;
  mean?: number | null;
  successRate?: number | null;
  diversity?: number | null;
  convergence?: number | null;
  predictionError?: number | null;
  changed?: boolean;
  drift?: { off?: boolean; drop?: number | null } | null;
}

async function studyPage([chosen]: string[]): Promise<HTMLElement> {
  const { studies } = await api<{ studies: StudyListed[] }>('GET', '/api/studies');
  if (studies.length === 0) return h('section', {}, h('h1', {}, 'Studies'), h('p', { class: 'empty' }, 'No study yet: start one (orchestra start).'));
  const studyId = chosen && studies.some((s) => s.studyId === chosen) ? chosen : studies[0]!.studyId;
  const path = `/api/studies/${encodeURIComponent(studyId)}`;
  const study = studies.find((s) => s.studyId === studyId)!;
  const [{ generations }, { reports }, { combinations }, { best }, { evaluations }, { alerts }, { combinations: inCurrent }] = await Promise.all([
    api<{ generations: GenerationView[] }>('GET', `${path}/generations`),
    api<{ reports: { generation: number; report: AnalysisFigures }[] }>('GET', `${path}/reports`),
    api<{ combinations: CombinationView[] }>('GET', `${path}/combinations`),
    api<{ best: StudyBest | null }>('GET', `${path}/best`),
    api<{ evaluations: { at: number; success: boolean; value: number | null }[] }>('GET', `${path}/evaluations?limit=5000`),
    api<{ alerts: Alert[] }>('GET', '/api/alerts'),
    // The study's latest generation; none yet is a 404.
    api<{ combinations: CombinationView[] }>('GET', `${path}/combinations?generation=${study.generation}`).catch((err: unknown) => {
      if (err instanceof ApiFailure && err.status === 404) return { combinations: [] as CombinationView[] };
      throw err;
    }),
  ]);
  const current = generations.at(-1);
  const changes = alerts.filter((a) => a.action === 'environment_change_detected' && a.data['studyId'] === studyId).map((a) => a.at);
  evaluationsChart.update(evaluations, changes);
  const scored: Scored[] = combinations.filter((c): c is CombinationView & { score: number } => c.score !== null);
  const shares = importance(scored);
  chart.update(reports.map((r) => ({ generation: r.generation, best: r.report.best ?? null, mean: r.report.mean ?? null })));
  const picker = h(
    'select',
    { id: 'study-picker', 'aria-label': 'Study', onchange: (e: Event) => (location.hash = `#/study/${encodeURIComponent((e.target as HTMLSelectElement).value)}`) },
    ...studies.map((s) => h('option', { value: s.studyId, selected: s.studyId === studyId }, `${s.studyId} (${s.state})`)),
  );
  const changedAt = generations.filter((g) => g.environmentChange).map((g) => g.generation);
  return h(
    'section',
    { 'aria-labelledby': 'study-title' },
    h('div', { class: 'row' }, h('h1', { id: 'study-title' }, `Study ${studyId}`), picker),
    h(
      'p',
      { class: 'facts' },
      `${study.state} · generation ${fmt.int(study.generation)} · ${fmt.int(study.trials)} evaluations`,
      current ? ` · current: ${fmt.int(current.testsDone)}/${fmt.int(current.tests)} tests, ${fmt.int(current.failed)} failed` : '',
      changedAt.length ? ` · environment changed at generation ${changedAt.join(', ')}` : '',
    ),
    h('div', { class: 'row' }, action('Run next generation now', `Start the next generation of ${studyId} now, whatever its cadence says?`, () => api('POST', `${path}/trigger`), () => 'Next generation triggered'), action('Stop study', `Stop ${studyId} after the tests in flight?`, () => api('POST', `${path}/stop`, {}), () => 'Study stopping')),
    studies.length > 1
      ? table(
          'Studies',
          ['Study', 'State', 'Generation', 'Evaluations', 'Last change'],
          studies.map((s) => [h('a', { href: `#/study/${encodeURIComponent(s.studyId)}` }, s.studyId), s.state, fmt.int(s.generation), fmt.int(s.trials), fmt.ago(s.updatedAt)]),
        )
      : null,
    h('h2', {}, 'Score per generation'),
    chart.element,
    h('h2', {}, 'Every evaluation'),
    h('p', { class: 'facts' }, `The latest ${fmt.int(evaluations.length)}: value over time; failures along the bottom in red, environment changes along the top.`),
    evaluationsChart.element,
    h('h2', {}, 'Recommendation'),
    best
      ? h(
          'dl',
          { class: 'best' },
          h('dt', {}, 'Variables'),
          h('dd', {}, fmt.vars(best.variables)),
          h('dt', {}, 'Value'),
          h('dd', {}, fmt.num(best.value)),
          h('dt', {}, 'Success rate'),
          h('dd', {}, `${fmt.pct(best.successRate)} over ${fmt.int(best.tests)} tests`),
          best.successProbability ? h('dt', {}, 'Estimated success') : null,
          best.successProbability
            ? h('dd', {}, `${fmt.pct(best.successProbability.p)} (95 %: ${fmt.pct(best.successProbability.low)}–${fmt.pct(best.successProbability.high)}), from every evaluation near it`)
            : null,
          h('dt', {}, 'Class'),
          h('dd', {}, best.classification + (best.fellBack ? ' (none met the filters: the best elite stands in)' : '')),
        )
      : h('p', { class: 'empty' }, 'Nothing has succeeded yet.'),
    table(
      'Generations',
      ['Generation', 'State', 'Tests', 'Failed', 'Best score', 'Best value'],
      generations
        .slice(-10)
        .reverse()
        .map((g) => [fmt.int(g.generation) + (g.environmentChange ? ' ⚠ change' : ''), g.state, `${fmt.int(g.testsDone)}/${fmt.int(g.tests)}`, fmt.int(g.failed), fmt.num(g.bestScore), fmt.num(g.bestValue)]),
    ),
    table(
      'Analysis reports',
      ['Generation', 'Best score', 'Mean score', 'Success rate', 'Diversity', 'Convergence', 'Prediction error', 'Environment'],
      reports
        .slice(-10)
        .reverse()
        .map(({ generation, report: r }) => [
          fmt.int(generation),
          fmt.num(r.best ?? null),
          fmt.num(r.mean ?? null),
          r.successRate == null ? '–' : fmt.pct(r.successRate),
          r.diversity == null ? '–' : fmt.pct(r.diversity),
          fmt.num(r.convergence ?? null),
          fmt.num(r.predictionError ?? null),
          r.changed ? `changed${r.drift?.drop == null ? '' : ` (drop ${fmt.num(r.drift.drop)})`}` : r.drift?.off ? 'not checked' : 'steady',
        ]),
      'no generation analysed yet',
    ),
    current
      ? table(
          `Combinations of generation ${fmt.int(study.generation)}`,
          ['Variables', 'Class', 'Score', 'Success rate', 'Tests'],
          inCurrent.map((c) => [fmt.vars(c.variables), c.classification ?? '–', fmt.num(c.score), fmt.pct(c.successRate), fmt.int(c.tests)]),
        )
      : null,
    h('h2', {}, 'Which variables matter'),
    h(
      'p',
      { class: 'facts' },
      'The share of the spread in score each variable explains on its own (the correlation ratio η² between groups of combinations: its values, or quarters of its range); it does not see interactions between variables.',
    ),
    shares.length
      ? h('ul', { class: 'bars' }, ...shares.map((s) => h('li', {}, h('span', { class: 'name' }, s.name), h('meter', { min: '0', max: '1', value: String(s.share) }), ` ${fmt.pct(s.share)}`)))
      : h('p', { class: 'empty' }, 'Not enough scored combinations yet.'),
    h('h2', {}, 'Variables against score'),
    scored.length ? parallelCoordinates(scored) : h('p', { class: 'empty' }, 'No scored combination yet.'),
    table(
      'Combinations, best first',
      ['Variables', 'Class', 'Score', 'Success rate', 'Tests', 'First generation'],
      combinations.slice(0, 25).map((c) => [fmt.vars(c.variables), c.classification ?? '–', fmt.num(c.score), fmt.pct(c.successRate), fmt.int(c.tests), fmt.int(c.firstGeneration)]),
    ),
  );
}


async function fleetPage(): Promise<HTMLElement> {
  const { bots, maxTasksPerBot } = await api<{ bots: BotView[]; maxTasksPerBot: number }>('GET', '/api/bots');
  const path = (b: BotView) => `/api/bots/${encodeURIComponent(b.botId)}`;
  const online = bots.filter((b) => b.state === 'online').length;
  return h(
    'section',
    {},
    h('h1', {}, 'Fleet'),
    h('p', { class: 'facts' }, `${fmt.int(online)} of ${fmt.int(bots.length)} bots online`),
    table(
      'Bots',
      ['Bot', 'State', 'Load', 'Tasks in hand', 'Success rate', 'Done', 'Failed', 'Restarts', 'Last heartbeat', 'Why', ''],
      bots.map((b) => [
        b.botId,
        h('span', { class: `state ${b.state}` }, b.state),
        h('span', { class: 'load' }, h('meter', { min: '0', max: String(maxTasksPerBot), value: String(b.tasks), 'aria-label': `${b.botId} load` }), ` ${fmt.pct(b.tasks / maxTasksPerBot)}`),
        `${fmt.int(b.tasks)} of ${fmt.int(maxTasksPerBot)}` + (b.tasks ? ` (${fmt.int(b.running)} running)` : ''),
        fmt.pct(b.successRate),
        fmt.int(b.completed),
        fmt.int(b.failed),
        fmt.int(b.restarts),
        ago(b.lastHeartbeatAt),
        b.reason ?? '',
        h(
          'span',
          { class: 'actions' },
          b.state === 'isolated'
            ? action('Reinstate', `Put ${b.botId} back in the fleet?`, () => api('POST', `${path(b)}/reinstate`, {}), () => `${b.botId} reinstated`)
            : action('Isolate', `Isolate ${b.botId}? It takes no tests until reinstated; what it holds goes to the others.`, () => api('POST', `${path(b)}/isolate`, { reason: 'isolated from the dashboard' }), () => `${b.botId} isolated`),
          b.state === 'online' ? action('Restart', `Restart ${b.botId}? What it runs goes to the others.`, () => api('POST', `${path(b)}/restart`, {}), () => `${b.botId} restarting`) : null,
          b.state === 'online'
            ? action('Drain', `Drain ${b.botId}? It finishes what it holds and is handed nothing new until resumed.`, () => api('POST', `${path(b)}/drain`, { reason: 'drained from the dashboard' }), () => `${b.botId} draining`)
            : null,
          b.state === 'draining' ? action('Resume', `Put ${b.botId} back to work?`, () => api('POST', `${path(b)}/resume`, {}), () => `${b.botId} back at work`) : null,
        ),
      ]),
      'no bot has joined yet',
    ),
  );
}

interface Task {
  taskId: string;
  kind: string;
  status: string;
  priority: number;
  attempt: number;
  maxAttempts: number;
  workerId: string | null;
  error: { code?: string; message?: string } | null;
  result: unknown;
  dependsOn: string[];
  createdAt: string;
  updatedAt: string;
}

const STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];
/** The task whose detail is open: kept across the page's live refreshes. */
let selectedTask: string | undefined;
const countsChart = new CountsChart(STATUSES);


/** A task error (or a late report's) in a line: its code and message. */
function errorText(e: unknown): string {
  if (!e || typeof e !== 'object') return '–';
  const { code = '', message = '' } = e as { code?: string; message?: string };
  return `${code} ${message}`.trim() || '–';
}

/** `#/tasks/STATUS/CURSOR/SEARCH`, any part empty. */
const tasksHash = (filter: string, cursor = '', search = '') => `#/tasks/${filter}/${cursor}/${encodeURIComponent(search)}`.replace(/\/+$/, '');

async function tasksPage([filter = '', cursor = '', search = '']: string[]): Promise<HTMLElement> {
  const query = new URLSearchParams({ limit: '50' });
  if (filter) query.set('status', filter);
  if (cursor) query.set('cursor', cursor);
  if (search) query.set('search', search);
  const [stats, { tasks, next }] = await Promise.all([
    api<{ total: number; byStatus: Record<string, number>; byPriority: Record<string, number> }>('GET', '/api/tasks/stats'),
    api<{ tasks: Task[]; next: string | null }>('GET', `/api/tasks?${query}`),
  ]);
  countsChart.add(stats.byStatus);
  // A search that finds the one task it names opens it.
  if (search && tasks.length === 1 && tasks[0]!.taskId === search) selectedTask = search;
  const detail = h('div', { id: 'task-detail', tabindex: '-1' });
  const show = async (taskId: string) => {
    const { task, lateReports } = await api<{ task: Task; lateReports: Wire<LateReportRow>[] }>('GET', `/api/tasks/${encodeURIComponent(taskId)}`);
    const path = `/api/tasks/${encodeURIComponent(taskId)}`;
    const result = JSON.stringify(task.result, null, 2) ?? 'null';
    detail.replaceChildren(
      h('h2', {}, `Task ${task.taskId}`),
      h(
        'dl',
        {},
        h('dt', {}, 'Kind'),
        h('dd', {}, task.kind),
        h('dt', {}, 'Status'),
        h('dd', {}, `${task.status} (attempt ${task.attempt} of ${task.maxAttempts})`),
        h('dt', {}, 'Worker'),
        h('dd', {}, task.workerId ?? '–'),
        h('dt', {}, 'Depends on'),
        h('dd', {}, task.dependsOn.join(', ') || '–'),
        h('dt', {}, 'Error'),
        h('dd', {}, errorText(task.error)),
      ),
      // The store keeps the last attempt's error, and the reports of attempts that came after their lease was lost.
      table(
        'Attempts',
        ['Attempt', 'Worker', 'Outcome', 'Error', 'When'],
        [
          ...lateReports.map((r) => [fmt.int(r.attempt), r.worker_id ?? '–', `${r.outcome}, late: its lease was lost`, errorText(r.error), fmt.ago(r.reported_at)]),
          [fmt.int(task.attempt), task.workerId ?? '–', task.status, errorText(task.error), fmt.ago(task.updatedAt)],
        ].sort((a, b) => Number(a[0]) - Number(b[0])),
      ),
      h('p', { class: 'facts' }, lateReports.length ? `${fmt.int(lateReports.length)} late reports: attempts that answered after losing their lease, recorded but not counted.` : 'No late report.'),
      h('pre', { class: 'result' }, result.length > 2000 ? `${result.slice(0, 2000)}\n… (${fmt.int(result.length)} characters)` : result),
      h(
        'div',
        { class: 'row' },
        task.status === 'FAILED' || task.status === 'CANCELLED' ? action('Retry', `Run ${task.taskId} again?`, () => api('POST', `${path}/retry`), () => `${task.taskId} queued again`) : null,
        task.status === 'PENDING' || task.status === 'RUNNING' ? action('Cancel', `Cancel ${task.taskId}?`, () => api('POST', `${path}/cancel`, { reason: 'cancelled from the dashboard' }), () => `${task.taskId} cancelled`) : null,
      ),
    );
  };
  // Drawn as part of the page, so a refresh (the stream brings one every second while work runs) keeps it.
  if (selectedTask) await show(selectedTask).catch(() => (selectedTask = undefined));
  const statusPicker = h(
    'select',
    { id: 'status-filter', 'aria-label': 'Status', onchange: (e: Event) => (location.hash = tasksHash((e.target as HTMLSelectElement).value, '', search)) },
    h('option', { value: '' }, 'every status'),
    ...STATUSES.map((s) => h('option', { value: s, selected: s === filter }, s)),
  ) as HTMLSelectElement;
  const searchBox = h('input', { id: 'task-search', type: 'search', 'aria-label': 'Task id', placeholder: 'task id, or its start', maxlength: '100', value: search }) as HTMLInputElement;
  const searchForm = h(
    'form',
    {
      role: 'search',
      class: 'row',
      onsubmit: (e: Event) => {
        e.preventDefault();
        // The status as chosen now: the page may not have been drawn again since.
        const to = tasksHash(statusPicker.value, '', searchBox.value.trim());
        if (location.hash === to) void render();
        else location.hash = to;
      },
    },
    searchBox,
    h('button', { type: 'submit' }, 'Search'),
  );
  return h(
    'section',
    {},
    h('h1', {}, 'Tasks'),
    h('ul', { class: 'tiles' }, ...STATUSES.map((s) => h('li', { class: `tile ${s.toLowerCase()}` }, h('span', { class: 'n' }, fmt.int(stats.byStatus[s] ?? 0)), h('span', {}, s)))),
    h('h2', {}, 'By status since this page opened'),
    countsChart.element,
    table(
      'By priority (1 most urgent)',
      Object.keys(stats.byPriority),
      [Object.values(stats.byPriority).map((n) => fmt.int(n))],
    ),
    h(
      'div',
      { class: 'row' },
      statusPicker,
      searchForm,
      next ? h('a', { href: tasksHash(filter, next, search), class: 'next' }, 'Older →') : null,
      cursor ? h('a', { href: tasksHash(filter, '', search) }, 'Newest') : null,
    ),
    detail,
    table(
      search ? `Tasks whose id starts with ${search}, newest first` : 'Tasks, newest first',
      ['Task', 'Kind', 'Status', 'Attempt', 'Updated'],
      tasks.map((t) => [
        h('button', { type: 'button', class: 'link', onclick: () => ((selectedTask = t.taskId), void render().then(() => document.getElementById('task-detail')?.focus())) }, t.taskId), t.kind, t.status, `${t.attempt}/${t.maxAttempts}`, fmt.ago(t.updatedAt)]),
      search ? `no task id starts with ${search}` : 'no task',
    ),
  );
}


async function campaignsPage(): Promise<HTMLElement> {
  const { campaigns } = await api<{ campaigns: CampaignRow[] }>('GET', '/api/campaigns');
  const runs = h('input', { id: 'campaign-runs', type: 'number', min: '1', max: '100000', value: '10', 'aria-label': 'Runs' }) as HTMLInputElement;
  return h(
    'section',
    {},
    h('h1', {}, 'Campaigns'),
    isAdmin()
      ? h('div', { class: 'row' }, runs, action('Start campaign', 'Run the best combination as a campaign?', () => api('POST', '/api/campaigns', { runs: Number(runs.value) }), () => 'Campaign started'))
      : null,
    table(
      'Campaigns',
      ['Campaign', 'Study', 'Variables', 'Progress', 'Succeeded', 'Failed', 'State', ''],
      campaigns.map((c) => [
        c.campaignId,
        c.studyId,
        fmt.vars(c.variables),
        h('progress', { max: String(c.runs), value: String(c.succeeded + c.failed) }, `${c.succeeded + c.failed}/${c.runs}`),
        fmt.int(c.succeeded),
        fmt.int(c.failed),
        c.state,
        c.state === 'running' ? action('Stop', `Stop campaign ${c.campaignId}?`, () => api('POST', `/api/campaigns/${encodeURIComponent(c.campaignId)}/stop`), () => `${c.campaignId} stopping`) : null,
      ]),
    ),
  );
}

interface Alert {
  action: string;
  from: string;
  at: number;
  data: Record<string, unknown>;
}

/** An alert in a sentence: which bot and why, or what changed in which study. */
function describeAlert(a: Alert): string {
  const d = a.data ?? {};
  if (a.action === 'bot_isolated') return `bot ${String(d['botId'])} isolated: ${String(d['reason'] ?? '')}`;
  if (a.action === 'environment_change_detected') return `environment change in study ${String(d['studyId'] ?? '')} at generation ${String(d['generation'] ?? '?')}`;
  return `${a.action} from ${a.from}`;
}

async function alertsPage(): Promise<HTMLElement> {
  const [{ alerts }, { deadLetters }] = await Promise.all([
    api<{ alerts: Alert[] }>('GET', '/api/alerts'),
    api<{ deadLetters: { receivedAt: number; source: string; code: string; reason: string }[] }>('GET', '/api/dead-letters?limit=50'),
  ]);
  return h(
    'section',
    {},
    h('h1', {}, 'Alerts'),
    alerts.length
      ? h('ol', { class: 'timeline' }, ...[...alerts].reverse().map((a) => h('li', {}, h('time', { datetime: new Date(a.at).toISOString() }, fmt.ago(a.at)), ' ', describeAlert(a))))
      : h('p', { class: 'empty' }, 'No alert yet: a bot isolated or an environment change shows here.'),
    table('Dead letters', ['Received', 'Source', 'Code', 'Reason'], deadLetters.map((d) => [fmt.ago(d.receivedAt), d.source, d.code, d.reason])),
  );
}

// ---- start ---------------------------------------------------------------

window.addEventListener('hashchange', () => void render());
if (session.token) {
  api<Who>('GET', '/api/whoami').then(
    (w) => {
      who = w;
      start();
    },
    () => signOut(),
  );
} else {
  signInPage();
}
