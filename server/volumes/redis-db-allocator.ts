/**
 * Gives a Redis volume a database number from the configured pool, never one given before (the
 * `redis_databases` ledger keeps every grant). Runs in the creating transaction, so a failed
 * create gives the number back.
 */
import type { Db } from '../db/database.js';
import { errors } from '../lib/errors.js';

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
