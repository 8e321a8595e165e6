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

/** Marks an error of a PostgreSQL connection's socket (see {@link isPostgresUnavailable}). */
const CONNECTION_FAILED = Symbol('headroom.postgresConnectionFailed');
const WATCHED = Symbol('headroom.postgresConnectionWatched');

function tag(err: unknown): void {
  if (typeof err === 'object' && err !== null && !Object.prototype.hasOwnProperty.call(err, CONNECTION_FAILED)) Object.defineProperty(err, CONNECTION_FAILED, { value: true });
}

/** Opens a knex pool on `url`; `max` bounds connections so tests with many files stay polite. */
export function createDb(url: string, max = 10): Knex {
  const knex = knexFactory({
    client: 'pg',
    // A host that drops packets instead of refusing them would otherwise hold a connect for the
    // whole acquire timeout; 5 s bounds it, and the call answers 503 naming PostgreSQL.
    connection: { connectionString: url, connectionTimeoutMillis: 5000 },
    pool: { min: 0, max },
    acquireConnectionTimeout: 10_000,
  });
  // A refused connect, or a socket reset under a query, surfaces as a bare socket error
  // (ECONNREFUSED 127.0.0.1:5432, read ECONNRESET) that nothing else tells apart from any other
  // dependency's: tag it where it is known to be PostgreSQL's, so the API answers 503 naming
  // PostgreSQL rather than a 500. node-postgres emits a socket error on its client synchronously
  // and fails the query with the same object on the next tick, so the tag is there in time.
  const client = knex.client as { acquireConnection(): Promise<unknown> };
  const acquire = client.acquireConnection.bind(client);
  client.acquireConnection = () =>
    acquire().then(
      (conn) => {
        const c = conn as { on?: (event: string, fn: (err: unknown) => void) => void } & Record<symbol, unknown>;
        if (typeof c?.on === 'function' && !c[WATCHED]) {
          c[WATCHED] = true;
          c.on('error', tag);
        }
        return conn;
      },
      (err: unknown) => {
        tag(err);
        throw err;
      },
    );
  return knex;
}

// node-postgres' own words when a connection it held went away (server crash, restart, network);
// knex puts the statement in front ("select ... - Connection terminated unexpectedly").
const CONNECTION_LOST = /(^| - )(Connection terminated|Connection ended unexpectedly|Client has encountered a connection error and is not queryable)/;

/**
 * True when `err` says PostgreSQL cannot be reached right now, rather than that a statement was
 * wrong: no connection could be had (refused, timed out, pool exhausted), a held connection was
 * cut, or the server answered with a connection-class SQLSTATE (08xxx; 57P01-57P03: shutting
 * down, crashed, starting up). These are worth a 503 and a retry, never a 500.
 */
export function isPostgresUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if ((err as Record<symbol, unknown>)[CONNECTION_FAILED] === true) return true;
  const e = err as { code?: unknown; severity?: unknown; message?: unknown };
  // SQLSTATEs come on pg's DatabaseError, which carries a severity; socket errors have none.
  if (typeof e.code === 'string' && typeof e.severity === 'string' && /^(08...|57P0[123])$/.test(e.code)) return true;
  return typeof e.message === 'string' && CONNECTION_LOST.test(e.message);
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
