/**
 * The fleet's pure rules, apart from any I/O so each is tested on its own.
 */

/** A bot's success rate after one more outcome: `weight` × old + (1 − weight) × new. */
export const nextSuccessRate = (old: number, success: boolean, weight: number): number => weight * old + (1 - weight) * (success ? 1 : 0);

export interface Candidate {
  botId: string;
  /** Tasks it holds now (pending or running). */
  tasks: number;
  successRate: number;
}

/** `0.5 × (1 − load) + 0.5 × success rate`, load being the share of its slots in use. */
export const botScore = (c: Candidate, maxTasks: number): number => 0.5 * (1 - Math.min(c.tasks, maxTasks) / maxTasks) + 0.5 * c.successRate;

/**
 * The bot that gets the next task: among those with a free slot, the highest
 * score; ties go to the lower bot id, so the choice is deterministic.
 */
export function selectBot(candidates: readonly Candidate[], maxTasks: number): Candidate | undefined {
  let best: Candidate | undefined;
  let bestScore = -Infinity;
  for (const c of candidates) {
    if (c.tasks >= maxTasks) continue;
    const score = botScore(c, maxTasks);
    if (score > bestScore || (score === bestScore && best && c.botId < best.botId)) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

/** Restarts still inside the window, counting one about to happen at `nowMs`. */
export const restartsInWindow = (recent: readonly number[], nowMs: number, windowMs: number): number =>
  recent.filter((at) => at > nowMs - windowMs).length;
