import type { Knex } from 'knex';

/**
 * The audit log (one row per state change, written in the same transaction as the change) and
 * the idempotency-key store that lets clients retry POSTs safely.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS audit_events (
      id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at           TIMESTAMPTZ NOT NULL DEFAULT now(),
      actor_sub    TEXT NOT NULL,
      actor_role   TEXT NOT NULL,
      action       TEXT NOT NULL,
      entity_type  TEXT NOT NULL,
      entity_id    TEXT NOT NULL,
      tenant_id    TEXT,
      before       JSONB,
      after        JSONB,
      request_id   TEXT
    );
    CREATE INDEX IF NOT EXISTS audit_events_tenant ON audit_events (tenant_id, id);
    CREATE INDEX IF NOT EXISTS audit_events_entity ON audit_events (entity_type, entity_id, id);

    -- Keyed by who sent it and the key, so two clients cannot collide on a key.
    CREATE TABLE IF NOT EXISTS idempotency_keys (
      actor_sub      TEXT NOT NULL,
      key            TEXT NOT NULL,
      method         TEXT NOT NULL,
      path           TEXT NOT NULL,
      request_hash   TEXT NOT NULL,
      status         INTEGER,
      response       JSONB,
      created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (actor_sub, key)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS idempotency_keys; DROP TABLE IF EXISTS audit_events;`);
}
