import type { Knex } from 'knex';

/**
 * Insights: what each successful walk found, kept per walk so walks can be compared.
 *
 * - insight_walks: one row per walk (its scan), written in the walk's success transaction:
 *   totals, the volume's age/size/type profile, largest files and stale directories (JSONB:
 *   read whole, never queried inside).
 * - insight_findings: the rules' findings of that walk, in the order served (largest
 *   reclaimable first). Suggestions are not stored: they are rendered in the tenant's language
 *   when read.
 * - insight_directories: the stored directories' profiles and sizes, by exact path, which is
 *   what two walks are compared on (inode numbers are never reused by JuiceFS, but a
 *   recreated folder gets a new one, and users think in paths). Pruned to the newest walks.
 * - insight_rule_settings: an admin's changes to a rule (off, thresholds); no row = defaults.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS insight_walks (
      scan_id      TEXT PRIMARY KEY REFERENCES scans(id) ON DELETE CASCADE,
      volume_id    TEXT NOT NULL REFERENCES volumes(id),
      tenant_id    TEXT NOT NULL REFERENCES tenants(id),
      walked_at    TIMESTAMPTZ NOT NULL,
      bytes        BIGINT NOT NULL,
      files        BIGINT NOT NULL,
      inodes       BIGINT NOT NULL,
      trash_bytes  BIGINT NOT NULL,
      reclaimable_bytes BIGINT NOT NULL,
      summary      JSONB NOT NULL,
      created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX IF NOT EXISTS insight_walks_volume ON insight_walks (volume_id, walked_at DESC);

    CREATE TABLE IF NOT EXISTS insight_findings (
      scan_id           TEXT NOT NULL REFERENCES insight_walks(scan_id) ON DELETE CASCADE,
      ordinal           INT NOT NULL,
      rule              TEXT NOT NULL,
      paths             JSONB NOT NULL,
      bytes             BIGINT NOT NULL,
      files             BIGINT NOT NULL,
      reclaimable_bytes BIGINT NOT NULL,
      details           JSONB NOT NULL,
      PRIMARY KEY (scan_id, ordinal)
    );

    CREATE TABLE IF NOT EXISTS insight_directories (
      scan_id   TEXT NOT NULL REFERENCES insight_walks(scan_id) ON DELETE CASCADE,
      path_b64  TEXT NOT NULL,
      path      TEXT NOT NULL,
      depth     INT NOT NULL,
      bytes     BIGINT NOT NULL,
      files     BIGINT NOT NULL,
      profile   JSONB,
      PRIMARY KEY (scan_id, path_b64)
    );

    CREATE TABLE IF NOT EXISTS insight_rule_settings (
      rule        TEXT PRIMARY KEY,
      enabled     BOOLEAN NOT NULL,
      params      JSONB NOT NULL,
      updated_by  TEXT NOT NULL,
      updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS insight_rule_settings;
    DROP TABLE IF EXISTS insight_directories;
    DROP TABLE IF EXISTS insight_findings;
    DROP TABLE IF EXISTS insight_walks;
  `);
}
