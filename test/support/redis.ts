/** Real Redis for tests: 127.0.0.1:6379 (or TEST_REDIS_URL); skip locally, fail under CI. */
import { Redis } from 'ioredis';
import { canConnect, requireServer } from './servers.js';

/** The Redis URL tests use. */
export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether Redis is reachable (throws under CI when it is not). */
export async function redisAvailable(): Promise<boolean> {
  const u = new URL(redisUrl);
  return requireServer('Redis', await canConnect(u.hostname, Number(u.port || 6379)));
}

/** A client on its own database number, so parallel test files do not collide. */
export function redisClient(db: number): Redis {
  return new Redis(redisUrl, { db, lazyConnect: false, maxRetriesPerRequest: 2 });
}
