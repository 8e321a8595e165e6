import type { Knex } from 'knex';

/**
 * Usage history of directory quotas (issue 17), kept as volumes' `usage_samples` are: the counters
 * pass appends a raw sample when a quota's usage changed or its last one is an hour old, and the
 * same job folds them into hourly maxima after two days and daily maxima after five weeks, and
 * drops daily ones after two years (server/quotas/sample-retention.ts holds the policy).
 *
 * Samples go with their quota (ON DELETE CASCADE): a deleted quota's row is removed once its
 * JuiceFS record is gone, and its history is no longer reachable. `tenant_id` is the quota's,
 * repeated so every read filters on the tenant as every other table's does. The index on
 * (resolution, at) serves downsampling, which looks for old rows of one resolution across all
 * quotas; the primary key serves a quota's history and its latest raw sample.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS directory_quota_samples (
      quota_id   TEXT NOT NULL REFERENCES directory_quotas(id) ON DELETE CASCADE,
      tenant_id  TEXT NOT NULL REFERENCES tenants(id),
      resolution TEXT NOT NULL CHECK (resolution IN ('raw', 'hour', 'day')),
      at         TIMESTAMPTZ NOT NULL,
      bytes      BIGINT NOT NULL,
      inodes     BIGINT NOT NULL,
      PRIMARY KEY (quota_id, resolution, at)
    );
    CREATE INDEX IF NOT EXISTS directory_quota_samples_resolution_at ON directory_quota_samples (resolution, at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS directory_quota_samples;`);
}
