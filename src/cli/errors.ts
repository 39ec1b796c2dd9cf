import { describeError, OrchestraError } from '../protocol/index.js';

/** Bad arguments, configuration or input: the user can fix the command. */
const USAGE_CODES = /^(ORC_CLI_BAD_ARGUMENT|ORC_CONFIG_|ORC_PROTOCOL_)/;

export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

export function exitCodeFor(err: unknown): number {
  return err instanceof OrchestraError && USAGE_CODES.test(err.code) ? EXIT_USAGE : EXIT_RUNTIME;
}

/** One line, with the stable code; the stack only when ORCHESTRA_DEBUG=1. */
export function formatError(err: unknown, debug: boolean): string {
  const { code, message } = describeError(err);
  const line = `orchestra: ${message.replace(/\s*\n\s*/g, ' ')}${code !== 'ERROR' ? ` [${code}]` : ''}`;
  return debug && err instanceof Error && err.stack ? `${line}\n${err.stack}` : line;
}

export function badArgument(message: string): OrchestraError {
  return new OrchestraError('ORC_CLI_BAD_ARGUMENT', message);
}
