import type { Knex } from 'knex';

/** Tenants: a user or team owning volumes. `id` is the public slug, so it is the key. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS tenants (
      id            TEXT PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{1,30}$'),
      display_name  TEXT NOT NULL,
      email         TEXT NOT NULL,
      created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS tenants;`);
}
