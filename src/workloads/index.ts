export { commandHandler, parseExecSpec, CommandError, type CommandOptions } from './command.js';
