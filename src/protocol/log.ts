import { pino, type Logger as PinoLogger } from 'pino';

/** The logging surface parts receive through their constructors. */
export type Logger = Pick<PinoLogger, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'child' | 'isLevelEnabled'>;

export interface LoggerOptions {
  level?: string;
  /**
   * Where log lines go: a file descriptor, a path, or a sink that takes each
   * line whole (a terminal shared with a live progress line); standard error
   * by default, so standard output stays for results.
   */
  destination?: number | string | LogSink;
}

export interface LogSink {
  write(line: string): unknown;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const { destination = 2 } = options;
  return pino(
    { level: options.level ?? 'info', base: undefined },
    typeof destination === 'object' ? destination : pino.destination({ dest: destination, sync: true }),
  );
}

/** A logger that drops everything: the default for library use and tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
