import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createRng, ManualClock } from '../../src/protocol/index.js';
import { IN_MEMORY, migrate, openPglite, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { apiConfig, createApiServer, createToken } from '../../src/api/index.js';

const NOW = Date.UTC(2026, 0, 1);

describe('the API over TLS from configured key and certificate files', () => {
  let db: Db;
  let dir: string;
  let key: string;
  let cert: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-tls-'));
    key = path.join(dir, 'key.pem');
    cert = path.join(dir, 'cert.pem');
    // A certificate for the loopback address, made for this test only.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=orchestra-test', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    db = await openPglite({ dataDir: IN_MEMORY, schema: 'orchestra' });
    await migrate(db, NOW);
  });
  afterAll(async () => {
    await db?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers over HTTPS, verified against the certificate', async () => {
    const clock = new ManualClock(NOW);
    const app = await createApiServer({ db, registry: new TaskRegistry({ db, clock, rng: createRng(1) }), clock }, { tlsKeyFile: key, tlsCertFile: cert });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const { token } = await createToken(db, { name: 'viewer', role: 'viewer' }, NOW);
      const get = (url: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = https.get(url, { ca: fs.readFileSync(cert), headers: { authorization: `Bearer ${token}` } }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          });
          req.on('error', reject);
        });
      expect(await get(`https://127.0.0.1:${port}/healthz`)).toEqual({ status: 200, body: '{"ok":true}' });
      expect((await get(`https://127.0.0.1:${port}/api/status`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('refuses one file without the other, and a file it cannot read, naming the setting', async () => {
    const half = apiConfig.safeParse({ tlsKeyFile: key });
    expect(half.success).toBe(false);
    expect(half.error!.issues[0]).toMatchObject({ path: ['tlsCertFile'], message: expect.stringContaining('go together') });
    const clock = new ManualClock(NOW);
    await expect(createApiServer({ db, registry: new TaskRegistry({ db, clock, rng: createRng(1) }), clock }, { tlsKeyFile: path.join(dir, 'missing.pem'), tlsCertFile: cert })).rejects.toMatchObject({
      code: 'ORC_CONFIG_INVALID',
      message: expect.stringMatching(/api\.tlsKeyFile: cannot read .*missing\.pem/),
    });
  });
});
