/**
 * The line protocol between the drain bench and its worker processes: the
 * worker prints `ready` once connected, starts consuming on `go`, prints
 * `s <i>` when a handler starts (latency mode), and shuts down on `stop` or
 * when its stdin closes (the bench process died).
 */
import { createInterface } from 'node:readline';

export type Mode = 'drain' | 'latency';

/** What every worker script is started with, as JSON in argv[2]. */
export interface WorkerArgs {
  mode: Mode;
  concurrency: number;
  databaseUrl: string;
  redisUrl: string;
  /** Orchestra: store schema; pg-boss: its schema. */
  schema: string;
  /** Orchestra: bus key prefix; BullMQ: queue key prefix. */
  prefix: string;
  /** BullMQ and pg-boss: the queue name. */
  queue: string;
}

export function workerArgs(): WorkerArgs {
  return JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
}

/** Handler start, for the latency rows. */
export function reportStart(i: number): void {
  process.stdout.write(`s ${i}\n`);
}

export interface Consumer {
  start(): Promise<void> | void;
  stop(): Promise<void>;
}

/** Prints `ready`, starts `consumer` on `go`, stops it on `stop` or end of stdin (started or not), then exits. */
export async function serve(consumer: Consumer): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  let started = false;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // A stop that hangs must not keep the process alive.
    setTimeout(() => process.exit(0), 5_000).unref();
    try {
      await consumer.stop();
    } finally {
      process.exit(0);
    }
  };
  lines.on('line', (line) => {
    if (line === 'go' && !started && !stopping) {
      started = true;
      Promise.resolve(consumer.start()).catch((err: unknown) => {
        console.error('worker failed to start:', err);
        process.exit(1);
      });
    } else if (line === 'stop') void stop();
  });
  lines.on('close', () => void stop());
  process.stdout.write('ready\n');
}
