import { pino, type Logger as PinoLogger } from 'pino';

/** The logging surface parts receive through their constructors. */
export type Logger = Pick<PinoLogger, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'child' | 'isLevelEnabled'>;

export interface LoggerOptions {
  level?: string;
  /** Where log lines go; standard error by default, so standard output stays for results. */
  destination?: number | string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    { level: options.level ?? 'info', base: undefined },
    pino.destination({ dest: options.destination ?? 2, sync: true }),
  );
}

/** A logger that drops everything: the default for library use and tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
