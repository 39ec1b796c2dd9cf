export { commandHandler, parseExecSpec, type CommandOptions } from './command.js';
