import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const children = new Set<ChildProcess>();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-pack-'));

/**
 * npm run from a test run by `npm test` inherits that run's npm_* settings;
 * the commands here must behave as a user's would.
 */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && !/^(ORCHESTRA_|DATABASE_URL$|REDIS_URL$)/.test(k)));

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(command: string, args: string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

// A program a user writes against the installed package: strict TypeScript, NodeNext resolution.
const PROGRAM = `
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { BaseAgent, createOrchestra, defineRequest, ERROR_CODES, TaskWorker, type AgentDeps } from 'orchestra-runtime';
import { parseSpace } from 'orchestra-runtime/evolution';

const greet = defineRequest({
  name: 'greet',
  to: 'greeter',
  data: z.object({ name: z.string() }),
  reply: z.object({ greeting: z.string() }),
});

class Greeter extends BaseAgent {
  constructor(deps: AgentDeps) {
    super('greeter', 'greeter', deps);
    this.onRequest(greet, ({ name }) => ({ greeting: 'hello, ' + name }));
  }
}

class Caller extends BaseAgent {
  constructor(deps: AgentDeps) {
    super('caller', 'caller', deps);
  }
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestra-packed-'));
const orchestra = await createOrchestra({ store: { dataDir } });
const greeter = new Greeter({ bus: orchestra.bus, clock: orchestra.clock });
const caller = new Caller({ bus: orchestra.bus, clock: orchestra.clock });
try {
  await greeter.start();
  await caller.start();
  const reply = await caller.sendRequest(greet, { name: 'packed world' });
  const greeting: string = reply.greeting;
  console.log('reply: ' + greeting);
  const registered = await orchestra.registry.register({ kind: 'greet', payload: { name: 'later' } });
  console.log('task: ' + registered.task.status + ', total ' + (await orchestra.registry.counts()).total);
  const space = parseSpace({ name: 's', objective: { metric: 'v', direction: 'minimize' }, variables: { x: { type: 'bool' } } });
  console.log('space: ' + Object.keys(space.variables).join(','));
  console.log('worker: ' + typeof TaskWorker + ', codes: ' + ('ORC_CONFIG_INVALID' in ERROR_CODES));
} finally {
  await caller.stop();
  await greeter.stop();
  await orchestra.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
`;

describe('the packed package', () => {
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it(
    'installs from its tarball with the orchestra command, and a strict TypeScript program built against it runs a typed request between two agents',
    async () => {
      // `npm pack` builds first (the prepare script), so the tarball holds what the sources compile to.
      const packed = await ok('npm', ['pack', '--pack-destination', scratch, '--silent'], ROOT);
      const tarball = path.join(scratch, packed.trim().split('\n').pop()!);
      expect(fs.existsSync(tarball)).toBe(true);

      const app = path.join(scratch, 'app');
      fs.mkdirSync(app);
      fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
      await ok('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', tarball], app);

      fs.writeFileSync(path.join(app, 'main.ts'), PROGRAM);
      fs.writeFileSync(
        path.join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            // The package's declarations are checked too, not only the program.
            skipLibCheck: false,
            types: ['node'],
            // Node's types from this repository, so the check needs nothing more from the registry.
            typeRoots: [path.join(ROOT, 'node_modules/@types')],
            outDir: 'out',
          },
          files: ['main.ts'],
        }),
      );
      await ok(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);

      // The command keeps its name whatever the package is called.
      const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
      expect((await ok(path.join(app, 'node_modules/.bin/orchestra'), ['--version'], app)).trim()).toBe(version);

      const stdout = await ok(process.execPath, [path.join('out', 'main.js')], app);
      expect(stdout.trim().split('\n')).toEqual([
        'reply: hello, packed world',
        'task: PENDING, total 1',
        'space: x',
        'worker: function, codes: true',
      ]);
    },
    // Packing builds the package and installing fetches its dependencies: minutes on a loaded machine.
    240_000,
  );
});
