import type { Knex } from 'knex';

/**
 * Quota requests and the auto-approval rules that grant the routine ones, per tenant tier.
 * At most one pending request per volume is enforced by a partial unique index, so two racing
 * requests cannot both be pending.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE tenants ADD COLUMN IF NOT EXISTS tier TEXT NOT NULL DEFAULT 'standard';
    ALTER TABLE tenants DROP CONSTRAINT IF EXISTS tenants_tier_check;
    ALTER TABLE tenants ADD CONSTRAINT tenants_tier_check CHECK (tier ~ '^[a-z0-9][a-z0-9-]{0,30}$');

    CREATE TABLE IF NOT EXISTS quota_rules (
      id          TEXT PRIMARY KEY,
      tier        TEXT NOT NULL,
      kind        TEXT NOT NULL CHECK (kind IN ('percent_increase', 'temporary_grant', 'tier_ceiling')),
      params      JSONB NOT NULL,
      position    INTEGER NOT NULL DEFAULT 100,
      enabled     BOOLEAN NOT NULL DEFAULT true,
      description TEXT,
      created_by  TEXT NOT NULL,
      created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX IF NOT EXISTS quota_rules_tier ON quota_rules (tier, position, id);

    CREATE TABLE IF NOT EXISTS quota_requests (
      id            TEXT PRIMARY KEY,
      volume_id     TEXT NOT NULL REFERENCES volumes(id),
      tenant_id     TEXT NOT NULL REFERENCES tenants(id),
      requested_by  TEXT NOT NULL,
      state         TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'cancelled')),
      reason        TEXT NOT NULL,
      -- What was asked, what was granted, and the limits before the grant (what a temporary grant reverts to).
      requested     JSONB NOT NULL,
      granted       JSONB,
      previous      JSONB,
      until         TIMESTAMPTZ,
      rule_id       TEXT,
      explanation   TEXT NOT NULL,
      decided_by    TEXT,
      decided_at    TIMESTAMPTZ,
      comment       TEXT,
      reverted_at   TIMESTAMPTZ,
      created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX IF NOT EXISTS quota_requests_one_pending ON quota_requests (volume_id) WHERE state = 'pending';
    CREATE INDEX IF NOT EXISTS quota_requests_state ON quota_requests (state, id);
    CREATE INDEX IF NOT EXISTS quota_requests_tenant ON quota_requests (tenant_id, id);
    -- Temporary grants still to revert.
    CREATE INDEX IF NOT EXISTS quota_requests_due ON quota_requests (until) WHERE state = 'approved' AND until IS NOT NULL AND reverted_at IS NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS quota_requests;
    DROP TABLE IF EXISTS quota_rules;
    ALTER TABLE tenants DROP CONSTRAINT IF EXISTS tenants_tier_check;
    ALTER TABLE tenants DROP COLUMN IF EXISTS tier;
  `);
}
