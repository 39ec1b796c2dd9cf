import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { exitWithin, runCli, spawnCli, tempDir, waitFor, type CliProcess } from '../cli/support.js';

const CHROMIUM = '/usr/bin/chromium';
const DOCS = path.resolve(import.meta.dirname, '../../docs');

/**
 * The dashboard in a real browser (Debian's chromium) against a running
 * `start`: sign in, every page with real data, the score chart growing as
 * generations finish, operator actions that work (isolate a bot, retry a
 * task) and that a viewer never sees. Screenshots of each page go to docs/.
 */
describe('the dashboard in a browser', { timeout: 240_000 }, () => {
  let cwd: string;
  let system: CliProcess;
  let browser: Browser;
  let url: string;
  let admin: string;
  let viewer: string;

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`the browser test needs ${CHROMIUM}: apt-get install -y chromium (.ci/run installs it)`);
    if (!fs.existsSync(path.resolve(import.meta.dirname, '../../dist/dashboard/index.html'))) throw new Error('the dashboard is not built: npm run build');
    cwd = tempDir();
    fs.writeFileSync(path.join(cwd, 'space.json'), JSON.stringify({ name: 'toy', objective: { metric: 'value', direction: 'minimize' }, variables: { x: { type: 'float', min: -5, max: 5 }, mode: { type: 'categorical', choices: ['a', 'b'] } } }));
    fs.writeFileSync(path.join(cwd, 'orchestra.config.json'), JSON.stringify({ experiment: { population: 6, testsPerCombination: 1, retests: 1 } }));
    system = spawnCli(['start', '--workload', 'synthetic', '--space', 'space.json', '--bots', '3', '--port', '0', '--data', 'd'], { cwd });
    url = await waitFor('the API address', () => /API at (http:\/\/\S+) /.exec(system.stderr())?.[1]);
    admin = await waitFor('the first admin token', () => /shown this once: (orc_\S+)/.exec(system.stderr())?.[1]);
    const made = await runCli(['tokens', 'create', '--role', 'viewer', '--name', 'watcher', '--api', url], { cwd, env: { ORCHESTRA_TOKEN: admin } });
    expect(made.code, made.stderr).toBe(0);
    viewer = made.stdout.trim();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    system?.child.kill('SIGTERM');
    if (system) await exitWithin(system);
    if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
  });

  const call = async (method: 'GET' | 'POST', route: string, body?: unknown) => {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await res.json()) as Record<string, any>;
  };

  async function signIn(token: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // No deadline of its own: on a loaded machine the test's limit is the only clock.
    page.setDefaultTimeout(0);
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(url);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Study toy' }).waitFor();
    expect(problems).toEqual([]);
    return page;
  }

  const points = async (page: Page, chart = 0) => Number(await page.locator('figure.chart').nth(chart).getAttribute('data-points'));
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(DOCS, `dashboard-${name}.png`), fullPage: true });

  it('shows the study, fleet, tasks, campaigns and alerts live; an admin isolates a bot and retries a task; a viewer sees no operator action', async () => {
    const page = await signIn(admin);
    await waitFor('the page to follow the event stream', async () => (await page.locator('#live').textContent())?.includes('● live'));
    // The chart gains points as generations are scored, without a reload.
    await waitFor('a first scored generation on the chart', async () => (await points(page)) >= 1);
    const first = await points(page);
    await waitFor('more generations on the chart', async () => (await points(page)) > first);
    // Every evaluation as a point; what each variable explains; variables against score.
    expect(await points(page, 1)).toBeGreaterThan(0);
    await page.locator('ul.bars meter').first().waitFor();
    expect(await page.locator('svg.parallel polyline').count()).toBeGreaterThan(0);
    await page.getByRole('table', { name: 'Combinations, best first' }).waitFor();
    // The current generation's combinations, each with its success rate and tests.
    const current = page.getByRole('table', { name: /^Combinations of generation \d+$/ });
    expect(await current.locator('th').allTextContents()).toEqual(['Variables', 'Class', 'Score', 'Success rate', 'Tests']);
    await waitFor('a tested combination in the current generation', async () => {
      const cells = await current.locator('tbody tr').first().locator('td').allTextContents();
      return /^\d+$/.test(cells[4] ?? '') && Number(cells[4]) > 0 && /^\d+\s?%$/.test(cells[3] ?? '');
    });
    expect(await page.getByText('Recommendation').count()).toBe(1);
    // The analysis agent's report of each scored generation, its environment check included.
    const analysed = page.getByRole('table', { name: 'Analysis reports' });
    await waitFor('an analysis report', async () => (await analysed.locator('tbody tr').count()) > 0);
    expect(await analysed.locator('tbody tr').first().locator('td').last().textContent()).toMatch(/^(steady|changed.*|not checked)$/);
    await shot(page, 'study');

    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    const rows = page.getByRole('table', { name: 'Bots' }).locator('tbody tr');
    await waitFor('three bots listed', async () => (await rows.count()) === 3);
    expect(await page.getByRole('table', { name: 'Bots' }).locator('th').allTextContents()).toEqual(expect.arrayContaining(['Load', 'Tasks in hand', 'Last heartbeat']));
    // Tests handed to the bots show as tasks in hand; heartbeats as a time ago.
    await waitFor('a bot with tasks in hand', async () => (await rows.locator('td:nth-child(4)').allTextContents()).some((t) => /^[1-9]\d* of \d+/.test(t)));
    expect(await rows.first().locator('time[data-ago]').textContent()).toMatch(/^\d+ s ago$/);
    const botId = (await rows.first().locator('td').first().textContent())!;
    await rows.first().getByRole('button', { name: 'Isolate' }).click();
    await page.locator('#notice').getByText(`${botId} isolated`).waitFor();
    await waitFor('the bot shown isolated', async () => (await rows.first().locator('.state').textContent()) === 'isolated');
    expect((await call('GET', `/api/bots/${botId}`)).bot.state).toBe('isolated');
    await shot(page, 'fleet');

    // A task of no worker's kind, cancelled: the dashboard retries it.
    const { tasks } = await call('POST', '/api/tasks', { kind: 'manual', payload: { note: 'from the browser test' } });
    const taskId = tasks[0].taskId as string;
    await call('POST', `/api/tasks/${taskId}/cancel`, {});
    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.getByLabel('Status', { exact: true }).selectOption('CANCELLED');
    await page.getByRole('button', { name: taskId }).click();
    await page.getByRole('heading', { name: `Task ${taskId}` }).waitFor();
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.locator('#notice').getByText(`${taskId} queued again`).waitFor();
    expect((await call('GET', `/api/tasks/${taskId}`)).task.status).toBe('PENDING');
    await page.getByLabel('Status', { exact: true }).selectOption('');
    // Searching its id lists that task alone and opens it, with its attempts.
    const search = page.getByLabel('Task id', { exact: true });
    const found = page.getByRole('table', { name: `Tasks whose id starts with ${taskId}, newest first` });
    await waitFor('the task found by its id', async () => {
      if (await found.getByRole('button', { name: taskId }).count()) return true;
      // The page read for the status filter may still have been on its way, and replaced the box: search again.
      if (!new URL(page.url()).hash.endsWith(`/${taskId}`)) {
        await search.fill(taskId);
        await search.press('Enter');
      }
      return false;
    });
    expect(await found.locator('tbody tr').count()).toBe(1);
    await page.getByRole('table', { name: 'Attempts' }).waitFor();
    await page.getByLabel('Task id', { exact: true }).fill('');
    await page.getByLabel('Task id', { exact: true }).press('Enter');
    await page.getByRole('table', { name: 'Tasks, newest first' }).waitFor();
    await shot(page, 'tasks');

    await call('POST', '/api/campaigns', { runs: 5 });
    await page.getByRole('link', { name: 'Campaigns' }).click();
    await page.getByRole('table', { name: 'Campaigns' }).waitFor();
    await shot(page, 'campaigns');

    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByText(`bot ${botId} isolated`).first().waitFor();
    await shot(page, 'alerts');
    await page.close();

    // A viewer sees everything but no operator action.
    await showsViewerNoAction();
  });

  // Part of the test above: the `start` it reads runs for one test only.
  async function showsViewerNoAction(): Promise<void> {
    const page = await signIn(viewer);
    await page.getByText('viewer', { exact: false }).first().waitFor();
    expect(await page.getByRole('button', { name: 'Run next generation now' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Fleet' }).click();
    await waitFor('bots listed', async () => (await page.getByRole('table', { name: 'Bots' }).locator('tbody tr').count()) === 3);
    expect(await page.getByRole('button', { name: /Isolate|Restart|Reinstate/ }).count()).toBe(0);
    await page.getByRole('link', { name: 'Campaigns' }).click();
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor();
    expect(await page.getByRole('button', { name: /Start campaign|Stop/ }).count()).toBe(0);
    // The API refuses it anyway.
    const refused = await page.evaluate(async (token) => (await fetch('/api/bots/x/isolate', { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status, viewer);
    expect(refused).toBe(403);
    await page.close();
  }
});
