/**
 * PostgreSQL access: a knex instance per process, and the transaction helper every use case
 * goes through (one transaction per use case, opened by the caller, never by a store).
 */
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

// BIGINT (int8) columns hold byte counts past 2^53: parse them as bigint, never as a lossy number.
pg.types.setTypeParser(20, (v: string) => BigInt(v));

/** A knex handle or a transaction; stores accept either. */
export type Db = Knex | Knex.Transaction;

/** Opens a knex pool on `url`; `max` bounds connections so tests with many files stay polite. */
export function createDb(url: string, max = 10): Knex {
  return knexFactory({
    client: 'pg',
    connection: url,
    pool: { min: 0, max },
    acquireConnectionTimeout: 10_000,
  });
}

/** True when `err` is PostgreSQL's unique violation (23505) of `constraint`. */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' && e.constraint === constraint;
}

/** Runs `fn` in one transaction with a statement timeout, committing on success. */
export async function inTransaction<T>(db: Knex, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return db.transaction(async (trx) => {
    // SET LOCAL rather than knex's cancel-by-new-connection timeout (see code-style-anchors §3.3).
    await trx.raw(`SET LOCAL statement_timeout = '15s'`);
    return fn(trx);
  });
}
