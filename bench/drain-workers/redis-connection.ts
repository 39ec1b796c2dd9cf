/** BullMQ's connection options from a redis:// URL. */
export function redisConnection(url: string): { host: string; port: number; username?: string; password?: string; db: number; maxRetriesPerRequest: null } {
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db: Number(u.pathname.slice(1) || 0),
    // BullMQ's workers block on Redis and require this.
    maxRetriesPerRequest: null,
  };
}
