import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { DATABASE_URL, REDIS_URL, uniqueName } from '../support/env.js';
import { deleteKeys, dropSchema, exitWithin, runCli, spawnCli, tempDir, waitFor } from './support.js';

interface Bot {
  botId: string;
  state: string;
  restarts: number;
}

describe('operator commands: bots restart|isolate|reinstate, campaigns start|stop, trigger, stop', { timeout: 600_000 }, () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir();
    fs.mkdirSync(path.join(cwd, 'docs'));
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(cwd, 'docs', `f${i}.txt`), `line ${i} of a document that repeats itself\n`.repeat(400));
    fs.writeFileSync(path.join(cwd, 'small.json'), JSON.stringify({ experiment: { population: 4, testsPerCombination: 1 }, compression: { maxBytes: 12_345 } }));
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  const botsOf = async (env: Record<string, string> = {}, data = ['--data', 'ops']) => (JSON.parse((await runCli(['bots', '--json', ...data], { cwd, env })).stdout) as { bots: Bot[] }).bots;

  it('on the embedded default, act through the API of the process that holds the data folder, with an admin token', async () => {
    const running = spawnCli(['start', '--data', 'ops', '--config', 'small.json', '--folder', 'docs'], { cwd });
    try {
      const url = await waitFor('the API address', () => /orchestra: API at (http:\/\/127\.0\.0\.1:\d+) /.exec(running.stderr())?.[1]);
      const token = await waitFor('the admin token', () => /shown this once: (orc_\S+)\n/.exec(running.stderr())?.[1]);
      await waitFor('the study to run', () => /generation \d+ · tests \d+\/\d+/.test(running.stderr()));

      // Without a token the command says where the API is and what it needs.
      const tokenless = await runCli(['bots', 'isolate', 'bot-1', '--data', 'ops'], { cwd });
      expect(tokenless.code).toBe(2);
      expect(tokenless.stderr).toContain(`process ${running.child.pid} runs the system and serves its API at ${url}; set ORCHESTRA_TOKEN to an admin token`);
      const env = { ORCHESTRA_TOKEN: token };

      const isolated = await runCli(['bots', 'isolate', 'bot-1', '--reason', 'cable check', '--data', 'ops'], { cwd, env });
      expect(isolated.stderr).toBe('');
      expect(isolated.stdout).toBe('bot bot-1: isolate_bot sent to the running system (api); orchestra bots shows its state\n');
      await waitFor('bot-1 isolated', async () => (await botsOf()).find((b) => b.botId === 'bot-1')?.state === 'isolated');
      const reinstated = await runCli(['bots', 'reinstate', 'bot-1', '--api', url, '--json'], { cwd, env });
      expect(reinstated.code).toBe(0);
      expect(JSON.parse(reinstated.stdout)).toMatchObject({ reinstated: true, bot: { botId: 'bot-1' } });

      const before = (await botsOf()).find((b) => b.botId === 'bot-2')!.restarts;
      expect((await runCli(['bots', 'restart', 'bot-2', '--api', url], { cwd, env })).code).toBe(0);
      await waitFor('bot-2 restarted', async () => (await botsOf()).find((b) => b.botId === 'bot-2')!.restarts > before);
      const unknown = await runCli(['bots', 'restart', 'bot-99', '--api', url], { cwd, env });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toBe('orchestra: no bot has id bot-99 [ORC_AGENT_NOT_FOUND]\n');

      await waitFor('a scored generation', async () => {
        const best = await runCli(['best', '--json', '--data', 'ops'], { cwd });
        return best.code === 0 && JSON.parse(best.stdout) !== null;
      });
      const started = await runCli(['campaigns', 'start', '--runs', '500', '--per-minute', '1', '--json', '--data', 'ops'], { cwd, env });
      expect(started.code).toBe(0);
      const campaign = JSON.parse(started.stdout) as { campaignId: string; runs: number; studyId: string };
      expect(campaign).toMatchObject({ runs: 500, studyId: 'compression' });
      const stopped = await runCli(['campaigns', 'stop', campaign.campaignId, '--data', 'ops'], { cwd, env });
      expect(stopped.stdout).toBe(`campaign ${campaign.campaignId}: stop_campaign sent to the running system (api); its runs not yet done are cancelled\n`);
      await waitFor('the campaign stopped', async () => {
        const list = JSON.parse((await runCli(['campaigns', '--json', '--data', 'ops'], { cwd })).stdout) as { campaigns: { campaignId: string; state: string }[] };
        return list.campaigns.find((c) => c.campaignId === campaign.campaignId)?.state === 'stopped';
      });

      const triggered = await runCli(['trigger', '--json', '--data', 'ops'], { cwd, env });
      expect(triggered.code).toBe(0);
      expect(JSON.parse(triggered.stdout)).toMatchObject({ action: 'trigger_test', via: 'api', studyId: 'compression' });
      const stop = await runCli(['stop', '--reason', 'done for today', '--data', 'ops'], { cwd, env });
      expect(stop.stdout).toBe('study compression: stop_test sent to the running system through its API; run orchestra start again to resume the study\n');
      expect(await exitWithin(running)).toBe(0);
    } finally {
      running.child.kill('SIGKILL');
    }
    expect(running.stdout()).toMatch(/^stopped: /);

    // Nothing runs now: the command says so, and how to reach a system that does.
    const nobody = await runCli(['bots', 'restart', 'bot-2', '--data', 'ops'], { cwd, env: { ORCHESTRA_TOKEN: 'orc_x' } });
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/restart_bot needs a running system: none holds the embedded data folder .*\[ORC_CLI_NO_RUNNING_SYSTEM\]\n$/);
    const bad = await runCli(['bots', 'restart', 'bot-2', '--api', 'not a url'], { cwd, env: { ORCHESTRA_TOKEN: 'orc_x' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('orchestra: --api not a url: not a URL (for example http://127.0.0.1:7070) [ORC_CONFIG_INVALID]\n');
    const noToken = await runCli(['campaigns', 'stop', 'c1', '--api', 'http://127.0.0.1:9'], { cwd });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('--api needs a token in the environment variable ORCHESTRA_TOKEN');
  });

  it('on Redis, act through the bus after the agent that acts has answered', async () => {
    const schema = uniqueName('cli_ops');
    const prefix = uniqueName('cli_ops');
    const env = { DATABASE_URL, REDIS_URL, ORCHESTRA_SCHEMA: schema, ORCHESTRA_PREFIX: prefix };
    try {
      const running = spawnCli(['start', '--config', 'small.json', '--folder', 'docs', '--no-api'], { cwd, env });
      try {
        await waitFor('the study to run', () => /generation \d+ · tests \d+\/\d+/.test(running.stderr()));
        const isolated = await runCli(['bots', 'isolate', 'bot-3', '--json'], { cwd, env });
        expect(isolated.stderr).toBe('');
        expect(JSON.parse(isolated.stdout)).toEqual({ action: 'isolate_bot', botId: 'bot-3', via: 'bus' });
        await waitFor('bot-3 isolated', async () => (await botsOf(env, [])).find((b) => b.botId === 'bot-3')?.state === 'isolated');
        expect((await runCli(['stop'], { cwd, env })).code).toBe(0);
        expect(await exitWithin(running)).toBe(0);
      } finally {
        running.child.kill('SIGKILL');
      }
      const nobody = await runCli(['campaigns', 'start', '--runs', '3', '--timeout-ms', '500'], { cwd, env });
      expect(nobody.code).toBe(1);
      expect(nobody.stderr).toBe('orchestra: no campaigns agent answered within 500 ms on this REDIS_URL and prefix: start_campaign was not sent [ORC_CLI_NO_RUNNING_SYSTEM]\n');
    } finally {
      await dropSchema(schema);
      await deleteKeys(prefix);
    }
  });
});
