import type { Knex } from 'knex';

/**
 * Volumes and the prefix ledger.
 *
 * `volume_prefixes` is append-only: a row is written when a prefix is allocated and is never
 * deleted, only marked retired. Its primary key is what guarantees that no two volumes, ever,
 * share a metadata prefix, even under concurrent creation, even after a volume is deleted.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS volume_prefixes (
      prefix        TEXT PRIMARY KEY CHECK (prefix ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
      volume_id     TEXT NOT NULL UNIQUE,
      allocated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
      retired_at    TIMESTAMPTZ
    );

    CREATE TABLE IF NOT EXISTS volumes (
      id             TEXT PRIMARY KEY,
      tenant_id      TEXT NOT NULL REFERENCES tenants(id),
      name           TEXT NOT NULL,
      prefix         TEXT NOT NULL UNIQUE REFERENCES volume_prefixes(prefix),
      engine         TEXT NOT NULL,
      meta_url       TEXT NOT NULL,
      state          TEXT NOT NULL CHECK (state IN ('provisioning', 'active', 'failed', 'deleting')),
      state_detail   TEXT,
      soft_bytes     BIGINT CHECK (soft_bytes >= 0),
      hard_bytes     BIGINT CHECK (hard_bytes >= 0),
      soft_inodes    BIGINT CHECK (soft_inodes >= 0),
      hard_inodes    BIGINT CHECK (hard_inodes >= 0),
      grace_seconds  INTEGER NOT NULL CHECK (grace_seconds >= 0),
      -- Hash of the normalised create request: a repeat with the same body is a no-op (200),
      -- a different body for the same name is a conflict (409).
      request_hash   TEXT NOT NULL,
      created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
      deleted_at     TIMESTAMPTZ,
      CHECK (hard_bytes IS NULL OR soft_bytes IS NULL OR hard_bytes >= soft_bytes),
      CHECK (hard_inodes IS NULL OR soft_inodes IS NULL OR hard_inodes >= soft_inodes)
    );

    -- A name is unique among a tenant's live volumes; once deleted the name may be used again
    -- (with a new prefix, since the old one is retired).
    CREATE UNIQUE INDEX IF NOT EXISTS volumes_tenant_name_live
      ON volumes (tenant_id, name) WHERE state <> 'deleting';
    CREATE INDEX IF NOT EXISTS volumes_tenant ON volumes (tenant_id, id);
    CREATE INDEX IF NOT EXISTS volumes_state ON volumes (state, id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS volumes; DROP TABLE IF EXISTS volume_prefixes;`);
}
