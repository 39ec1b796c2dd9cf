/**
 * The dashboard under load: a study with 5,000 evaluations over 50
 * generations and 10,000 tasks in the store, read by Debian's chromium
 * through the API on PostgreSQL. Measured in the same run: the time to fetch
 * the same API data with no page at all (the baseline), the time from
 * navigation to each page fully drawn, and the longest main-thread task the
 * browser reported while drawing (what a person feels as a frozen page).
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { createRng, systemClock } from '../src/protocol/index.js';
import { createStudy, insertGeneration, insertResults, markGenerationScored, migrate, openPostgres, recordScores, saveReport, type TestResultRow } from '../src/store/index.js';
import { TaskRegistry } from '../src/registry/index.js';
import { createApiServer, createToken } from '../src/api/index.js';
import { dashboardDir } from '../src/web/index.js';
import { fmt, printTable } from './stats.js';

const CHROMIUM = '/usr/bin/chromium';

/**
 * Run in the page (a string: this file is type-checked without the DOM):
 * draws the study page again from another page, and reports how long until
 * the evaluations chart holds its 5,000 points and the parallel coordinates
 * are drawn, with the longest main-thread task meanwhile.
 */
/** Run in the page: the study page's API reads, with no drawing; their time in ms. */
const readStudy = (token: string) => `(async () => {
  const get = (p) => fetch(p, { headers: { authorization: 'Bearer ${token}' } }).then((r) => r.json());
  const started = performance.now();
  await Promise.all(['generations', 'reports', 'combinations', 'best', 'evaluations?limit=5000'].map((p) => get('/api/studies/load/' + p)).concat([get('/api/studies'), get('/api/alerts')]));
  return performance.now() - started;
})()`;

const REDRAW_STUDY = `(async () => {
  const longest = { ms: 0 };
  const observer = new PerformanceObserver((list) => list.getEntries().forEach((e) => (longest.ms = Math.max(longest.ms, e.duration))));
  observer.observe({ type: 'longtask' });
  // From another page, drawn and gone, so nothing of the study page is left.
  location.hash = '#/fleet';
  while (!document.querySelector('main h1') || document.querySelector('main h1').textContent !== 'Fleet') await new Promise((r) => setTimeout(r, 5));
  document.getElementById('main').replaceChildren();
  const started = performance.now();
  location.hash = '#/study/load';
  for (;;) {
    const figure = document.querySelectorAll('figure.chart')[1];
    if (figure && figure.dataset.points === '5000' && document.querySelector('svg.parallel')) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - started;
  await new Promise((r) => setTimeout(r, 50));
  observer.disconnect();
  return { ms, longest: longest.ms };
})()`;

export async function dashboardBench(databaseUrl: string, options: { tasks: number; generations: number; perGeneration: number; rounds: number }): Promise<void> {
  const dir = dashboardDir();
  if (!dir) throw new Error('the dashboard is not built: npm run build');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`the dashboard bench needs ${CHROMIUM}: apt-get install -y chromium`);
  const schema = `bench_dashboard_${process.pid}`;
  const db = await openPostgres({ url: databaseUrl, schema, poolSize: 10 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await migrate(db, systemClock.now());
    const start = systemClock.now() - options.generations * 60_000;
    const space = { name: 'load', objective: { metric: 'value', direction: 'minimize' }, variables: { x: { type: 'float', min: -5, max: 5 }, y: { type: 'float', min: -5, max: 5 }, mode: { type: 'categorical', choices: ['a', 'b', 'c'] } } };
    await createStudy(db, 'load', space, {}, start);
    const rng = createRng(3);
    let trial = 0;
    for (let g = 0; g < options.generations; g++) {
      const at = start + g * 60_000;
      const combinations = Array.from({ length: options.perGeneration }, (_, i) => {
        const variables = { x: rng.next() * 10 - 5, y: rng.next() * 10 - 5, mode: ['a', 'b', 'c'][i % 3]! };
        return { key: `g${g}-c${i}`, variables };
      });
      const tests = combinations.map((c) => ({ key: c.key, trial: trial++, taskId: `t-load-${c.key}` }));
      await insertGeneration(db, { studyId: 'load', generation: g, combinations, tests }, at);
      const results: TestResultRow[] = combinations.map((c, i) => {
        const value = c.variables.x ** 2 + c.variables.y ** 2;
        const success = i % 10 !== 0;
        return { taskId: tests[i]!.taskId, studyId: 'load', key: c.key, generation: g, trial: tests[i]!.trial, success, value: success ? value : null, metrics: {}, reason: success ? null : 'failed', botId: `bot-${i % 20}`, at: at + i * 100 };
      });
      await insertResults(db, results);
      await recordScores(db, 'load', results.filter((r) => r.success).map((r) => ({ key: r.key, classification: 'significant', score: 1 / (1 + r.value!) })), g, at);
      await markGenerationScored(db, 'load', g, {}, at);
      const scores = results.filter((r) => r.success).map((r) => 1 / (1 + r.value!));
      await saveReport(db, 'load', g, { best: Math.max(...scores), mean: scores.reduce((a, b) => a + b, 0) / scores.length }, at);
    }
    const registry = new TaskRegistry({ db, clock: systemClock, rng: createRng(1) });
    for (let i = 0; i < options.tasks; i += 1000) {
      await registry.registerMany(Array.from({ length: Math.min(1000, options.tasks - i) }, (_, j) => ({ kind: 'load', payload: { n: i + j } })));
    }
    const app = await createApiServer({ db, registry, clock: systemClock, dashboardDir: dir }, { rateLimitPerMinute: 1_000_000 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const { token } = await createToken(db, { name: 'bench', role: 'viewer' }, systemClock.now());
    const rows: string[][] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(url);
      // The baseline: the study page's API reads, made from the page with no drawing.
      const fetchOnly = async () => (await page.evaluate(readStudy(token))) as number;
      await page.getByLabel('Token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Study load' }).waitFor();
      for (let round = 0; round < options.rounds; round++) {
        const baseline = await fetchOnly();
        // The longest main-thread task while the page is drawn again from scratch.
        const drawn = (await page.evaluate(REDRAW_STUDY)) as { ms: number; longest: number };
        const tasksStarted = Date.now();
        await page.getByRole('link', { name: 'Tasks' }).click();
        await page.getByRole('table', { name: 'Tasks, newest first' }).waitFor();
        const tasksMs = Date.now() - tasksStarted;
        await page.getByRole('link', { name: 'Study' }).click();
        await page.getByRole('heading', { name: 'Study load' }).waitFor();
        rows.push([String(round + 1), fmt(baseline, 0), fmt(drawn.ms, 0), `${fmt(drawn.ms / baseline, 2)}×`, fmt(drawn.longest, 0), fmt(tasksMs, 0)]);
      }
    } finally {
      await app.close();
    }
    printTable(
      `Dashboard: a study of ${options.generations * options.perGeneration} evaluations over ${options.generations} generations, ${options.tasks} tasks (ms)`,
      ['round', 'study API reads, no page', 'study page drawn', 'vs reads', 'longest main-thread task', 'tasks page drawn'],
      rows,
    );
  } finally {
    await browser.close();
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await db.close();
  }
}
