import os from 'node:os';
import { OrchestraError, reinstateBotCommand } from '../../protocol/index.js';
import { getBot, reinstateBot, type BotRow } from '../../store/index.js';
import { apiFromFlag } from '../api-client.js';
import type { Bus } from '../../bus/index.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { loadConfig, print, printJson, type CliIo, type GlobalFlags } from '../context.js';
import { CliClient } from '../client.js';

export interface ReinstateOptions {
  reason?: string;
  json?: boolean;
  /** The API of the running system; the token comes from ORCHESTRA_TOKEN. */
  api?: string;
}

/**
 * Puts an isolated bot back in the fleet. The store holds the fleet, so the
 * reinstatement is written there, with who asked and why; on Redis the
 * running bot agent is also told, so the bot takes tasks again at once
 * (on the embedded default it does when `start` runs next).
 */
export async function botsReinstateCommand(globals: GlobalFlags, botId: string, options: ReinstateOptions, io: CliIo): Promise<void> {
  const api = apiFromFlag(options.api, io.env);
  if (api) {
    const reply = await api.post<{ bot: BotRow; reinstated: boolean }>(`/api/bots/${encodeURIComponent(botId)}/reinstate`, options.reason?.trim() ? { reason: options.reason.trim() } : {});
    if (options.json) return printJson(io, reply);
    if (!reply.reinstated) return print(io, `bot ${botId} is ${reply.bot.state}, not isolated: nothing to reinstate`);
    return print(io, `bot ${botId} reinstated: success rate ${reply.bot.successRate.toFixed(3)} (the fleet's mean), through the API`);
  }
  const config = loadConfig(globals, io);
  const runtime = await openRuntime(config, { bus: Boolean(config.bus.redisUrl) });
  try {
    const request = { by: operator(), reason: options.reason?.trim() || 'reinstated from the command line' };
    const row = await reinstateBot(runtime.db, botId, runtime.clock.now(), request);
    if (!row) {
      const bot = await getBot(runtime.db, botId);
      if (!bot) throw new OrchestraError('ORC_AGENT_NOT_FOUND', `no bot has id ${botId}`);
      if (options.json) return printJson(io, { bot, reinstated: false });
      return print(io, `bot ${botId} is ${bot.state}, not isolated: nothing to reinstate`);
    }
    if (runtime.bus) await tellBotAgent(runtime as Runtime & { bus: Bus }, { botId, ...request });
    if (options.json) return printJson(io, { bot: row, reinstated: true });
    print(io, `bot ${botId} reinstated: success rate ${row.successRate.toFixed(3)} (the fleet's mean), by ${request.by}: ${request.reason}`);
  } finally {
    await runtime.close();
  }
}

async function tellBotAgent(runtime: Runtime & { bus: Bus }, data: { botId: string; by: string; reason: string }): Promise<void> {
  const client = new CliClient(runtime);
  await client.start();
  try {
    await client.sendCommand(reinstateBotCommand, data);
  } finally {
    await client.stop();
  }
}

/** Who asked, as the fleet's record keeps it. */
function operator(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // A container user with no entry in the password file has no name.
  }
  return `${user}@${os.hostname()}`;
}
