/**
 * Gives a Redis volume a database number from the configured pool, never one given before (the
 * `redis_databases` ledger keeps every grant). Runs in the creating transaction, so a failed
 * create gives the number back. A number is spent for good once the volume row commits, so the
 * creator first asks {@link assertRedisAnswers}, outside the transaction: a Redis that is down
 * must cost a 503, not a database.
 */
import { Redis } from 'ioredis';
import type { Db } from '../db/database.js';
import { DependencyUnavailableError, withDeadline } from '../lib/deadline.js';
import { errors } from '../lib/errors.js';
import { parseRedisUrl } from '../meta/redis/redis-url.js';

/** Allocates the lowest free database of `pool` on `server` to `volumeId`; 409 when none is left. */
export async function allocateRedisDb(db: Db, server: string, pool: readonly number[], volumeId: string): Promise<number> {
  // A concurrent creator may take the same number first: ON CONFLICT skips it, and we try the next.
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = await db.raw(
      `INSERT INTO redis_databases (server, db, volume_id)
       SELECT ?, n, ? FROM unnest(?::int[]) AS n
        WHERE NOT EXISTS (SELECT 1 FROM redis_databases r WHERE r.server = ? AND r.db = n)
        ORDER BY n LIMIT 1
       ON CONFLICT DO NOTHING
       RETURNING db`,
      [server, volumeId, [...pool], server],
    );
    const row = (r as { rows: { db: number }[] }).rows[0];
    if (row) return row.db;
    const free = await db('redis_databases')
      .where({ server })
      .whereIn('db', [...pool])
      .count<{ n: string }[]>('* as n');
    if (Number(free[0]?.n ?? 0) >= pool.length) throw errors.redisPoolExhausted(server, pool.length);
  }
  throw errors.redisPoolExhausted(server, pool.length);
}

/** Claims a given database (adoption); false when it already belongs to a volume. */
export async function claimRedisDb(db: Db, server: string, dbNumber: number, volumeId: string): Promise<boolean> {
  const rows = (await db('redis_databases').insert({ server, db: dbNumber, volume_id: volumeId }).onConflict(['server', 'db']).ignore().returning('db')) as unknown[];
  return rows.length > 0;
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
