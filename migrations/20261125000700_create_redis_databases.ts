import type { Knex } from 'knex';

/**
 * The ledger of Redis databases given to volumes. JuiceFS keeps one volume per Redis database,
 * so the database number is a Redis volume's "prefix": like `volume_prefixes`, rows are never
 * deleted, so a database is never given to two volumes, nor reused after one is deleted.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS redis_databases (
      server        TEXT NOT NULL,
      db            INTEGER NOT NULL CHECK (db >= 0),
      volume_id     TEXT NOT NULL UNIQUE,
      allocated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (server, db)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS redis_databases;`);
}
