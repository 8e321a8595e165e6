import type { Knex } from 'knex';

/**
 * The object-storage side of volumes: each volume's bucket (decided when the volume is recorded,
 * before anything is created, so a crash can always be finished or undone), the tenant's storage
 * identity with its secret key encrypted at rest, and storage-side usage next to the metadata's.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE volumes ADD COLUMN IF NOT EXISTS storage_kind TEXT NOT NULL DEFAULT 'file';
    ALTER TABLE volumes ADD COLUMN IF NOT EXISTS storage_bucket TEXT;
    CREATE UNIQUE INDEX IF NOT EXISTS volumes_storage_bucket ON volumes (storage_bucket) WHERE storage_bucket IS NOT NULL;

    CREATE TABLE IF NOT EXISTS storage_identities (
      tenant_id   TEXT PRIMARY KEY REFERENCES tenants(id),
      name        TEXT NOT NULL UNIQUE,
      access_key  TEXT NOT NULL UNIQUE,
      -- AES-256-GCM under STORAGE_SECRET_KEY: iv.tag.ciphertext, base64url.
      secret_enc  TEXT NOT NULL,
      created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    ALTER TABLE usage_readings ADD COLUMN IF NOT EXISTS storage_bytes BIGINT;
    ALTER TABLE usage_readings ADD COLUMN IF NOT EXISTS storage_objects BIGINT;
    ALTER TABLE usage_readings ADD COLUMN IF NOT EXISTS storage_read_at TIMESTAMPTZ;

    -- Whether Headroom's read-only rule for the volume is meant to be in filer.conf.
    ALTER TABLE enforcement_states ADD COLUMN IF NOT EXISTS storage_frozen BOOLEAN NOT NULL DEFAULT false;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE enforcement_states DROP COLUMN IF EXISTS storage_frozen;
    ALTER TABLE usage_readings DROP COLUMN IF EXISTS storage_read_at;
    ALTER TABLE usage_readings DROP COLUMN IF EXISTS storage_objects;
    ALTER TABLE usage_readings DROP COLUMN IF EXISTS storage_bytes;
    DROP TABLE IF EXISTS storage_identities;
    DROP INDEX IF EXISTS volumes_storage_bucket;
    ALTER TABLE volumes DROP COLUMN IF EXISTS storage_bucket;
    ALTER TABLE volumes DROP COLUMN IF EXISTS storage_kind;
  `);
}
