/**
 * Gives a Redis volume a database number from the configured pool, never one given before (the
 * `redis_databases` ledger keeps every grant). Runs in the creating transaction, so a failed
 * create gives the number back. A number is spent for good once the volume row commits, so the
 * creator first asks {@link assertRedisAnswers}, outside the transaction: a Redis that is down
 * must cost a 503, not a database.
 */
import { Redis } from 'ioredis';
import { DependencyUnavailableError, withDeadline } from '../lib/deadline.js';
import { errors } from '../lib/errors.js';
import { parseRedisUrl } from '../meta/redis/redis-url.js';
import type { VolumeStore } from './volume-store.js';

/** Allocates the lowest free database of `pool` on `server` to `volumeId`; 409 when none is left. */
export async function allocateRedisDb(store: Pick<VolumeStore, 'claimFreeRedisDb' | 'countRedisDbs'>, server: string, pool: readonly number[], volumeId: string): Promise<number> {
  // A concurrent creator may take the same number first: the claim skips it, and we try the next.
  for (let attempt = 0; attempt < 5; attempt++) {
    const n = await store.claimFreeRedisDb(server, pool, volumeId);
    if (n !== undefined) return n;
    if ((await store.countRedisDbs(server, pool)) >= pool.length) throw errors.redisPoolExhausted(server, pool.length);
  }
  throw errors.redisPoolExhausted(server, pool.length);
}

/** What a failed PING is reported as: the kind of engine, never its address. */
const REDIS_DEPENDENCY = 'metadata engine (redis)';

/**
 * Resolves once the Redis server of `redisUrl` has answered a PING within `timeoutMs`, on a
 * connection of its own (no queue, no retry: the answer is wanted now); otherwise rejects with
 * {@link DependencyUnavailableError}. Never call it inside a PostgreSQL transaction.
 */
export async function assertRedisAnswers(redisUrl: string, timeoutMs: number): Promise<void> {
  const loc = parseRedisUrl(redisUrl, { requireDb: false });
  const client = new Redis({
    host: loc.host,
    port: loc.port,
    username: loc.username,
    password: loc.password,
    tls: loc.tls ? {} : undefined,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  client.on('error', () => {}); // the failure is the answer, thrown below; no outage to log
  try {
    const ping = async () => {
      await client.connect();
      const answer = await client.ping();
      if (answer !== 'PONG') throw new Error(`PING answered ${JSON.stringify(answer)}`);
    };
    await withDeadline(ping(), timeoutMs, REDIS_DEPENDENCY);
  } catch (err) {
    if (err instanceof DependencyUnavailableError) throw err;
    throw new DependencyUnavailableError(REDIS_DEPENDENCY, `did not answer a PING: ${(err as Error).message}`);
  } finally {
    client.disconnect();
  }
}
