import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { DATABASE_URL, REDIS_URL, uniqueName } from '../support/env.js';
import { dropSchema, deleteKeys, exitWithin, runCli, spawnCli, tempDir, waitFor, type CliProcess } from './support.js';

interface Listed {
  agentId: string;
  role: string;
  state: string;
  details: Record<string, unknown>;
}

describe('orchestra run research and orchestra agents', { timeout: 240_000 }, () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir();
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('writes a report on the embedded default, with the researcher and writer in this process', async () => {
    const result = await runCli(['run', 'research', '--topic', 'fencing tokens and stale leases'], { cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^# fencing tokens and stale leases\n/);
    expect(result.stdout).toContain('Fencing Tokens — fencing-tokens.md');
    expect(result.stderr).toMatch(/\[\d+\.\ds\] research COMPLETED · write COMPLETED · 2 agents here/);
  });

  it('refuses to start the researcher with a key the search provider refuses, naming TAVILY_API_KEY, and registers nothing', async () => {
    const stub = http.createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"detail":{"error":"Unauthorized: missing or invalid API key."}}');
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = stub.address() as AddressInfo;
      const result = await runCli(['run', 'research', '--topic', 'anything', '--data', 'tavily'], {
        cwd,
        env: { TAVILY_API_KEY: 'tvly-test-secret', TAVILY_BASE_URL: `http://127.0.0.1:${port}` },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^orchestra: TAVILY_API_KEY was refused by tavily \(HTTP 401\).*\[ORC_WORKLOAD_SEARCH_UNAUTHORIZED\]$/m);
      expect(result.stderr).not.toContain('tvly-test-secret');
      const tasks = await runCli(['tasks', 'list', '--json', '--data', 'tavily'], { cwd });
      expect(tasks.code).toBe(0);
      expect(JSON.parse(tasks.stdout)).toEqual([]);
    } finally {
      stub.close();
    }
  });

  it('lists the agents recorded in the embedded store', async () => {
    fs.mkdirSync(path.join(cwd, 'tiny'));
    fs.writeFileSync(path.join(cwd, 'tiny', 'a.txt'), 'tiny\n'.repeat(100));
    expect((await runCli(['start', '--generations', '1', '--folder', 'tiny', '--data', 'listed'], { cwd })).code).toBe(0);
    const result = await runCli(['agents', '--json', '--data', 'listed'], { cwd });
    expect(result.code).toBe(0);
    const { agents } = JSON.parse(result.stdout) as { agents: Listed[] };
    const ids = agents.map((a) => a.agentId);
    for (const id of ['orchestrator', 'bots', 'analysis', 'monitor', 'campaigns', 'variables', 'bot.bot-1', 'bot.bot-8']) expect(ids).toContain(id);
    expect(new Set(agents.map((a) => a.state))).toEqual(new Set(['stopped']));
  });

  it('says plainly when no orchestrator answers on Redis', async () => {
    const prefix = uniqueName('cli_agents');
    const schema = uniqueName('cli_agents');
    try {
      const result = await runCli(['agents', '--timeout-ms', '300'], { cwd, env: { REDIS_URL, DATABASE_URL, ORCHESTRA_PREFIX: prefix, ORCHESTRA_SCHEMA: schema } });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/no orchestrator answered within 300 ms.*\[ORC_BUS_REQUEST_TIMEOUT\]/);
    } finally {
      await dropSchema(schema);
      await deleteKeys(prefix);
    }
  });

  it('runs research in one process and writing in another, on PostgreSQL and Redis', async () => {
    const env = { DATABASE_URL, REDIS_URL, ORCHESTRA_SCHEMA: uniqueName('cli_pipeline'), ORCHESTRA_PREFIX: uniqueName('cli_pipeline') };
    const servers: CliProcess[] = [];
    try {
      const researcher = spawnCli(['serve', '--agents', 'researcher'], { cwd, env });
      servers.push(researcher);
      await waitFor('the researcher', () => researcher.stderr().includes('serving researcher'));
      const rest = spawnCli(['serve', '--agents', 'orchestrator,dispatcher,monitor,writer'], { cwd, env });
      servers.push(rest);
      await waitFor('the writer', () => rest.stderr().includes('serving orchestrator, dispatcher, monitor, writer'));

      const listing = await waitFor('both workers listed as running', async () => {
        const result = await runCli(['agents', '--json'], { cwd, env });
        const agents = result.code === 0 ? (JSON.parse(result.stdout) as { agents: Listed[] }).agents : [];
        const running = (id: string) => agents.some((a) => a.agentId === id && a.state === 'running');
        return running('researcher') && running('writer') && agents;
      });
      expect(listing.map((a) => a.agentId)).toEqual(['dispatcher', 'monitor', 'orchestrator', 'researcher', 'writer']);

      const result = await runCli(['run', 'research', '--topic', 'consumer groups in redis streams', '--json'], { cwd, env });
      expect(result.stderr).not.toContain('no researcher agent is running');
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as { report: string; sources: number; words: number };
      expect(report.report).toMatch(/^# consumer groups in redis streams\n/);
      expect(report.sources).toBeGreaterThan(0);

    } finally {
      for (const s of servers) s.child.kill('SIGTERM');
      for (const s of servers) expect(await exitWithin(s)).toBe(0);
      await dropSchema(env.ORCHESTRA_SCHEMA);
      await deleteKeys(env.ORCHESTRA_PREFIX);
    }
  });
});
