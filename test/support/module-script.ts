import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs an ES module's text in a Node process of its own, from the repository's
 * root with the TypeScript sources importable (`./src/…`): for what one process
 * must see fresh (its module cache, its in-process memos). Resolves with its
 * exit code and what it wrote on stdout; its stderr goes to the test's.
 */
export function runModuleScript(script: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout })));
}
