import fs from 'node:fs';
import path from 'node:path';
import { parseSpace, parseSpaceJson, type Space } from '../evolution/index.js';
import { OrchestraError, type Clock } from '../protocol/index.js';
import { COMPRESSION_SPACE, DEFAULT_COMPRESSION_DIR, commandEvaluator, compressionEvaluator, readCompressionSample, syntheticEvaluator, type Evaluator } from '../workloads/index.js';
import type { OrchestraConfig } from './config.js';
import type { CliIo } from './context.js';
import { badArgument } from './errors.js';

/** The study `start` runs when told nothing: the built-in compression workload. */
export const START_STUDY = 'compression';

/** What the workload flags of `start` and `serve` said. */
export interface WorkloadFlags {
  space?: string;
  command?: string;
  workload?: string;
  folder?: string;
  timeoutMs?: number;
  /** What a campaign's runs execute on this process's bots instead of the evaluator (the production job). */
  campaignCommand?: string;
}

const WORKLOADS = ['compression', 'synthetic'] as const;

/** What a start tunes: its study, the workload its tests name, the space, the evaluator in-process bots run. */
export interface StartWorkload {
  studyId: string;
  workload: string;
  space: Space;
  evaluator: Evaluator;
  /** What the study tunes, for the line that says so. */
  what: string;
  /** The built-in demo simulates a misbehaving fleet; a user's evaluator gets well-behaved bots. */
  simulated: boolean;
  /** `--campaign-command`: what a campaign's runs execute here instead of the evaluator. */
  campaign?: Evaluator;
}

/** `--space` with `--command` (the user's evaluator), `--workload synthetic` with `--space`, or the built-in compression workload. */
export async function chooseWorkload(options: WorkloadFlags, config: OrchestraConfig, io: CliIo, clock: Clock): Promise<StartWorkload> {
  const chosen = await chooseEvaluator(options, config, io, clock);
  if (options.campaignCommand === undefined) return chosen;
  if (!options.campaignCommand.trim()) throw badArgument('--campaign-command must name the command a campaign runs');
  return { ...chosen, campaign: commandEvaluator(options.campaignCommand, { clock, cwd: io.cwd, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) }) };
}

async function chooseEvaluator(options: WorkloadFlags, config: OrchestraConfig, io: CliIo, clock: Clock): Promise<StartWorkload> {
  const workload = options.workload ?? (options.command !== undefined ? 'command' : 'compression');
  if (options.command !== undefined && options.workload !== undefined) throw badArgument('--command runs your evaluator; --workload names a built-in one: give one of them');
  if (workload !== 'command' && !(WORKLOADS as readonly string[]).includes(workload)) throw badArgument(`--workload ${workload} is not one of ${WORKLOADS.join(', ')} (your own evaluator: --space FILE --command CMD)`);
  if (workload === 'command') {
    if (!options.command?.trim()) throw badArgument('--command must name the evaluator to run');
    if (options.space === undefined) throw badArgument('--command needs --space FILE: the variables it is run with');
    const space = readSpace(path.resolve(io.cwd, options.space));
    const evaluator = commandEvaluator(options.command, { clock, cwd: io.cwd, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
    return { studyId: space.name ?? 'command', workload, space, evaluator, what: `${space.name ?? 'your space'} with ${options.command}`, simulated: false };
  }
  if (workload === 'synthetic') {
    if (options.space === undefined) throw badArgument('--workload synthetic needs --space FILE: the landscape is drawn over its variables');
    const space = readSpace(path.resolve(io.cwd, options.space));
    return { studyId: space.name ?? 'synthetic', workload, space, evaluator: syntheticEvaluator(space, { seed: config.experiment.seed }), what: `a synthetic landscape over ${space.name ?? 'your space'}`, simulated: true };
  }
  if (options.space !== undefined) throw badArgument('--space goes with --command (your evaluator) or --workload synthetic');
  await checkFolder(config, options.folder !== undefined);
  return {
    studyId: START_STUDY,
    workload,
    space: parseSpace(COMPRESSION_SPACE),
    evaluator: compressionEvaluator({ clock, maxBytes: config.compression.maxBytes, ...(config.compression.folder ? { folder: config.compression.folder } : {}) }),
    what: `compression of ${config.compression.folder ?? "Orchestra's own sources"}`,
    simulated: true,
  };
}

/**
 * A folder that cannot be read, or holds nothing to compress, would fail
 * every test of every generation: refused before the study starts, naming
 * the setting and the reason.
 */
async function checkFolder(config: OrchestraConfig, fromFlag: boolean): Promise<void> {
  const folder = config.compression.folder ?? DEFAULT_COMPRESSION_DIR;
  try {
    await readCompressionSample(folder, { maxBytes: config.compression.maxBytes });
  } catch (err) {
    if (!(err instanceof OrchestraError) || err.code !== 'ORC_WORKLOAD_CORPUS_UNREADABLE') throw err;
    const source = fromFlag ? 'flag --folder' : config.compression.folder ? 'the configuration' : "the default (Orchestra's own sources)";
    throw new OrchestraError('ORC_CONFIG_INVALID', `configuration compression.folder from ${source}: ${err.message}`, false, { cause: err });
  }
}

/** The variable space of `--space FILE`; a file that cannot be read or parsed is an error naming it. */
export function readSpace(file: string): Space {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw badArgument(`cannot read --space ${file}: ${(err as Error).message}`);
  }
  return parseSpaceJson(`space ${path.basename(file)}`, text);
}
