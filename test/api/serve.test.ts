import fs from 'node:fs';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { exitWithin, runCli, spawnCli, tempDir, waitFor } from '../cli/support.js';

describe('orchestra serve --port and orchestra tokens', { timeout: 360_000 }, () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir();
  });
  afterAll(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('makes tokens shown once, serves the API with a first admin token, and refuses what a role may not do', async () => {
    const made = await runCli(['tokens', 'create', '--role', 'viewer', '--name', 'ci', '--data', 'api'], { cwd });
    expect(made.code).toBe(0);
    const viewer = made.stdout.trim();
    expect(viewer).toMatch(/^orc_[A-Za-z0-9_-]{40,}$/);
    const listed = await runCli(['tokens', 'list', '--json', '--data', 'api'], { cwd });
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: 'ci', role: 'viewer', revokedAt: null })]);
    expect(listed.stdout).not.toContain(viewer);
    expect((await runCli(['tokens', 'create', '--role', 'root', '--name', 'x', '--data', 'api'], { cwd })).code).toBe(2);

    const serving = spawnCli(['serve', '--agents', 'monitor', '--port', '0', '--data', 'api'], { cwd });
    try {
      const url = await waitFor('the API address', () => /API at (http:\/\/\S+) /.exec(serving.stderr())?.[1]);
      const admin = await waitFor('the first admin token', () => /shown this once: (orc_\S+)/.exec(serving.stderr())?.[1]);
      const get = (path: string, token?: string) => fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      expect((await get('/healthz')).status).toBe(200);
      expect((await get('/api/status')).status).toBe(401);
      expect((await get('/api/status', viewer)).status).toBe(200);
      const refused = await fetch(`${url}/api/tasks`, { method: 'POST', headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo' }) });
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ code: 'ORC_API_FORBIDDEN' });
      const created = await fetch(`${url}/api/tasks`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo' }) });
      expect(created.status).toBe(201);
      expect((await get('/openapi.json')).status).toBe(200);
    } finally {
      serving.child.kill('SIGTERM');
    }
    expect(await exitWithin(serving)).toBe(0);
    // The viewer's token was used on every request and never written out.
    expect(serving.stderr()).not.toContain(viewer);
    const after = JSON.parse((await runCli(['tokens', 'list', '--json', '--data', 'api'], { cwd })).stdout) as { tokenId: string; name: string; lastUsedAt: string | null; revokedAt: unknown }[];
    // The token the process left for local reads of its data folder was revoked as it stopped.
    const local = `local reads (process ${serving.child.pid})`;
    expect(after.map((t) => t.name).sort()).toEqual(['ci', 'first admin', local]);
    expect(after.find((t) => t.name === local)!.revokedAt).not.toBeNull();
    expect(after.find((t) => t.name === 'ci')!.lastUsedAt).not.toBeNull();
    const revoked = await runCli(['tokens', 'revoke', after.find((t) => t.name === 'ci')!.tokenId, '--data', 'api'], { cwd });
    expect(revoked.code).toBe(0);
    expect((await runCli(['tokens', 'revoke', 'nope', '--data', 'api'], { cwd })).stderr).toMatch(/\[ORC_API_NOT_FOUND\]/);

    // A holder killed outright cannot revoke its token for local reads: the next process to hold the folder does.
    const announced = (pid: number) => () => fs.existsSync(`${cwd}/api/orchestra-api.json`) && (JSON.parse(fs.readFileSync(`${cwd}/api/orchestra-api.json`, 'utf8')) as { pid: number }).pid === pid;
    const killed = spawnCli(['serve', '--agents', 'monitor', '--port', '0', '--data', 'api'], { cwd });
    await waitFor('the killed server to announce its API', announced(killed.child.pid!));
    killed.child.kill('SIGKILL');
    await exitWithin(killed);
    const leftover = `local reads (process ${killed.child.pid})`;
    const tokens = async () => JSON.parse((await runCli(['tokens', 'list', '--json', '--data', 'api'], { cwd })).stdout) as { name: string; revokedAt: unknown }[];
    expect((await tokens()).find((t) => t.name === leftover)!.revokedAt).toBeNull();
    const next = spawnCli(['serve', '--agents', 'monitor', '--port', '0', '--data', 'api'], { cwd });
    try {
      await waitFor('the next server to announce its API', announced(next.child.pid!));
    } finally {
      next.child.kill('SIGTERM');
    }
    expect(await exitWithin(next)).toBe(0);
    expect((await tokens()).filter((t) => t.name.startsWith('local reads') && t.revokedAt === null)).toEqual([]);
  });
});
