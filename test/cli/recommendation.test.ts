import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRng, getBestCombinationRequest, startCampaignRequest, systemClock, type JsonValue } from '../../src/protocol/index.js';
import { createMemoryBus, type MemoryBus } from '../../src/bus/index.js';
import { combinationKey, parseSpace } from '../../src/evolution/index.js';
import { createStudy, insertGeneration, insertResults, openStore, setStudyState, type Db } from '../../src/store/index.js';
import { TaskRegistry } from '../../src/registry/index.js';
import { BaseAgent, bestOf, CampaignAgent, VariableAgent } from '../../src/agents/index.js';
import { COMPRESSION_SPACE } from '../../src/workloads/index.js';
import { bestCommand } from '../../src/cli/commands/inspect.js';
import { startCommand } from '../../src/cli/commands/start.js';
import { optimizeCommand } from '../../src/cli/commands/optimize.js';
import type { CliIo } from '../../src/cli/context.js';
import { HISTORY_KINDS, SYNTHETIC_SPACE, writeHistory } from '../../bench/study-histories.js';
import { embeddedStore } from '../agents/helpers.js';
import { tempDir } from './support.js';

const NOW = Date.UTC(2026, 0, 1);
const clock = systemClock;

class Asker extends BaseAgent {}

/** A command's streams, kept: what it printed on standard output and on standard error. */
function captured(cwd: string): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString());
        done();
      },
    });
  return {
    stdout: sink((t) => (out += t)),
    stderr: sink((t) => (err += t)) as unknown as NodeJS.WriteStream,
    stdin: Readable.from([]),
    env: {},
    cwd,
    out: () => out,
    err: () => err,
  };
}

/** The last number a progress line printed after `label`. */
function lastProgressFigure(stderr: string, label: RegExp): number {
  const figures = [...stderr.matchAll(label)].map((m) => Number(m[1]));
  expect(figures.length).toBeGreaterThan(0);
  return figures.at(-1)!;
}

describe('one recommendation: every entry point gives the same answer on the same stored study', () => {
  describe('get_best_combination over the memory bus, best --json, and the best a progress line shows', () => {
    const store = embeddedStore();
    let db: Db;
    let bus: MemoryBus;
    let registry: TaskRegistry;
    let asker: Asker;
    beforeEach(async () => {
      db = await store.reset(NOW);
      bus = createMemoryBus({ clock });
      registry = new TaskRegistry({ db, clock, rng: createRng(1), bus });
      asker = new Asker('asker', 'test', { bus, clock });
      await asker.start();
      return async () => {
        await asker.stop();
        await bus.close();
      };
    });

    async function answers(studyId: string) {
      const agent = new VariableAgent({ bus, clock, db, registry, studyId, workload: 'synthetic', space: parseSpace(SYNTHETIC_SPACE) });
      await agent.start();
      try {
        const fromAgent = await asker.sendRequest(getBestCombinationRequest, {});
        return { fromAgent, progress: agent.progressNow.best, fromCli: await bestOf(db, studyId) };
      } finally {
        await agent.stop();
      }
    }

    for (const kind of HISTORY_KINDS) {
      it(`agree on ${kind} histories`, async () => {
        for (let seed = 1; seed <= 4; seed++) {
          const studyId = `${kind}-${seed}`;
          await writeHistory(db, { studyId, seed, kind, nowMs: NOW });
          const { fromAgent, progress, fromCli } = await answers(studyId);
          expect(fromCli, studyId).not.toBeNull();
          const { metrics, ...printed } = fromCli!;
          expect(metrics).toHaveProperty('value');
          expect(fromAgent, studyId).toEqual(printed);
          expect(progress?.key, studyId).toBe(fromCli!.key);
          expect(progress?.score, studyId).toBe(fromCli!.score);
          expect(progress?.mean, studyId).toBe(fromCli!.value);
        }
      });
    }

    it('answer none while nothing has succeeded, and a campaign is refused for it', async () => {
      const space = parseSpace(SYNTHETIC_SPACE);
      const variables = { x: 1, n: 10, mode: 'a', on: true };
      const key = combinationKey(space, variables);
      await createStudy(db, 'none', SYNTHETIC_SPACE as unknown as JsonValue, {}, NOW);
      await insertGeneration(db, { studyId: 'none', generation: 0, combinations: [{ key, variables }], tests: [{ key, trial: 0, taskId: 't0' }] }, NOW);
      await insertResults(db, [{ taskId: 't0', studyId: 'none', key, generation: 0, trial: 0, success: false, value: null, metrics: {}, reason: 'crashed', botId: null, at: NOW }]);
      await setStudyState(db, 'none', 'stopped', NOW);
      const { fromAgent, progress, fromCli } = await answers('none');
      expect(fromAgent).toBeNull();
      expect(progress).toBeUndefined();
      expect(fromCli).toBeNull();

      const agent = new VariableAgent({ bus, clock, db, registry, studyId: 'none', workload: 'synthetic', space });
      const campaigns = new CampaignAgent({ bus, clock, db, registry, workload: 'synthetic' });
      await agent.start();
      await campaigns.start();
      try {
        await expect(asker.sendRequest(startCampaignRequest, { runs: 1 })).rejects.toMatchObject({ remoteCode: 'ORC_AGENT_NOT_FOUND' });
      } finally {
        await campaigns.stop();
        await agent.stop();
      }
    });
  });

  // The stored studies are left stopped: start resumes one and runs one small generation more,
  // optimize finds its budget spent; each then prints what the study holds.
  describe('the summary of start and the best of optimize, run on a stored study', () => {
    let cwd: string;
    beforeAll(() => {
      cwd = tempDir();
      fs.mkdirSync(path.join(cwd, 'docs'));
      fs.writeFileSync(path.join(cwd, 'docs', 'a.txt'), 'a line of a document\n'.repeat(100));
      fs.writeFileSync(path.join(cwd, 'space.json'), JSON.stringify(SYNTHETIC_SPACE));
    });
    afterAll(() => {
      fs.rmSync(cwd, { recursive: true, force: true });
    });

    async function stored(data: string, write: (db: Db) => Promise<unknown>): Promise<void> {
      const { db } = await openStore({ dataDir: path.join(cwd, data) }, NOW);
      try {
        await write(db);
      } finally {
        await db.close();
      }
    }

    async function bestJson(data: string, study: string) {
      const io = captured(cwd);
      await bestCommand({ data, logLevel: 'error' }, { study, json: true }, io);
      return JSON.parse(io.out()) as { key: string; variables: Record<string, unknown>; score: number; value: number };
    }

    for (const [i, kind] of (['noisy', 'failing'] as const).entries()) {
      it(`start prints the best that best --json prints, and its progress line shows it (${kind})`, async () => {
        const data = `start-${kind}`;
        await stored(data, (db) => writeHistory(db, { studyId: 'compression', seed: 40 + i, kind, space: COMPRESSION_SPACE as unknown as JsonValue, nowMs: NOW, settings: { population: 3, testsPerCombination: 1, retests: 1 } }));
        const io = captured(cwd);
        await startCommand({ data, logLevel: 'error' }, { generations: 1, folder: 'docs', json: true }, io);
        const summary = JSON.parse(io.out()) as { best: { key: string; variables: unknown; score: number; value: number } };
        const best = await bestJson(data, 'compression');
        expect(summary.best).toMatchObject({ key: best.key, variables: best.variables, score: best.score, value: best.value });
        expect(Math.abs(lastProgressFigure(io.err(), /best score (-?[\d.]+)/g) - best.score)).toBeLessThanOrEqual(0.0005);
      });
    }

    for (const [i, kind] of (['drifting', 'deterministic'] as const).entries()) {
      it(`optimize prints the best that best --json prints, and its progress line shows it (${kind})`, async () => {
        const data = `optimize-${kind}`;
        let trials = 0;
        await stored(data, async (db) => (trials = (await writeHistory(db, { studyId: 'optimize', seed: 60 + i, kind, nowMs: NOW })).trials));
        const io = captured(cwd);
        await optimizeCommand({ data, logLevel: 'error' }, { space: 'space.json', command: 'false', budget: trials, resume: true, json: true, out: `${data}.json` }, io);
        const printed = JSON.parse(io.out()) as { best: { variables: unknown; value: number } };
        const best = (await bestJson(data, 'optimize')) as Awaited<ReturnType<typeof bestJson>> & { successRate: number; tests: number; successProbability: unknown };
        expect(printed.best).toEqual({ variables: best.variables, value: best.value, successProbability: best.successProbability, observedSuccessRate: best.successRate, tests: best.tests });
        expect(lastProgressFigure(io.err(), /· best (-?[\d.e+-]+) ·/g)).toBeCloseTo(best.value, 4);
      });
    }
  });
});
