/** Tests wait here until the bot agent hands them to a bot. */
export const TEST_BACKLOG_KIND = 'test';
/** The kind of the tasks handed to one bot: only that bot claims them. */
export const botKind = (botId: string) => `bot.${botId}`;
export const botIdOfKind = (kind: string): string | undefined => (kind.startsWith('bot.') ? kind.slice(4) : undefined);

// The test task's schemas are shared with the workloads that run tests, so they live in protocol.
export { variableValue, testPayloadSchema, testResultSchema, type TestPayload, type TestOutcome } from '../protocol/index.js';
