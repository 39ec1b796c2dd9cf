export { commandHandler, parseExecSpec, CommandError, type CommandOptions } from './command.js';
export * from './research/index.js';
