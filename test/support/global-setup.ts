import net from 'node:net';
import { REDIS_URL, DATABASE_URL } from './env.js';

function reachable(url: string, defaultPort: number): Promise<string | null> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname || '127.0.0.1', port: Number(port || defaultPort) });
    const done = (problem: string | null) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(3000, () => done('timed out'));
    socket.once('connect', () => done(null));
    socket.once('error', (err) => done(err.message));
  });
}

/** The suites talk to real services; say plainly which one is missing instead of skipping. */
export default async function setup(): Promise<void> {
  const problems: string[] = [];
  const redis = await reachable(REDIS_URL, 6379);
  if (redis) problems.push(`Redis at ${REDIS_URL} is unreachable (${redis}); set REDIS_URL or start redis-server`);
  const pg = await reachable(DATABASE_URL, 5432);
  if (pg) problems.push(`PostgreSQL at ${DATABASE_URL} is unreachable (${pg}); set DATABASE_URL or start PostgreSQL`);
  if (problems.length) throw new Error(problems.join('\n'));
}
