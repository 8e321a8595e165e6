import type { Knex } from 'knex';

/**
 * Enforcement as desired state. A decision records, in its own transaction, what JuiceFS and
 * SeaweedFS should hold (per layer, with a generation that grows with every change); an applier
 * carries it out after commit, and every pass compares what the systems hold with it.
 *
 * - enforcement_states gains the desired values and their generations. `applied_capacity`,
 *   `applied_inodes` and `storage_frozen` (what the old in-transaction writes recorded) are
 *   copied into the new columns and no longer written: expand now, drop in a later release.
 * - enforcement_layers holds, per volume and layer, what the applier and the verifier saw:
 *   the generation last applied, the values observed, when, and the errors and drifts met.
 *   It is written outside the decision transactions, so a slow system never holds a row lock.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE enforcement_states
      ADD COLUMN IF NOT EXISTS desired_capacity    BIGINT,
      ADD COLUMN IF NOT EXISTS desired_inodes      BIGINT,
      ADD COLUMN IF NOT EXISTS metadata_generation BIGINT NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS storage_desired     BOOLEAN NOT NULL DEFAULT false,
      ADD COLUMN IF NOT EXISTS storage_generation  BIGINT NOT NULL DEFAULT 0;
    UPDATE enforcement_states
       SET desired_capacity = applied_capacity, desired_inodes = applied_inodes, storage_desired = COALESCE(storage_frozen, false)
     WHERE desired_capacity IS NULL AND applied_capacity IS NOT NULL;

    CREATE TABLE IF NOT EXISTS enforcement_layers (
      volume_id          TEXT NOT NULL REFERENCES volumes(id),
      layer              TEXT NOT NULL CHECK (layer IN ('metadata', 'storage')),
      tenant_id          TEXT NOT NULL REFERENCES tenants(id),
      -- The newest generation of the desired state carried out (never lowered).
      applied_generation BIGINT NOT NULL DEFAULT 0,
      -- What the system held when last read or written: {"capacity","inodes"} or {"frozen"}.
      observed           JSONB,
      verified_at        TIMESTAMPTZ,
      last_error         TEXT,
      last_error_at      TIMESTAMPTZ,
      -- Failed applies in a row, and when the next retry is due (exponential backoff).
      attempts           INT NOT NULL DEFAULT 0,
      retry_at           TIMESTAMPTZ,
      -- Drift found by a verification (someone or something changed the system behind Headroom).
      drifts             INT NOT NULL DEFAULT 0,
      last_drift_at      TIMESTAMPTZ,
      PRIMARY KEY (volume_id, layer)
    );
    CREATE INDEX IF NOT EXISTS enforcement_layers_retry ON enforcement_layers (retry_at) WHERE retry_at IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS enforcement_layers;
    ALTER TABLE enforcement_states
      DROP COLUMN IF EXISTS desired_capacity,
      DROP COLUMN IF EXISTS desired_inodes,
      DROP COLUMN IF EXISTS metadata_generation,
      DROP COLUMN IF EXISTS storage_desired,
      DROP COLUMN IF EXISTS storage_generation;
  `);
}
