import type { Knex } from 'knex';

/**
 * Directory walks ("scans") and their per-directory results. A walk's rows are written once
 * when it succeeds; the API reads the latest successful scan of a volume.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS scans (
      id            TEXT PRIMARY KEY,
      volume_id     TEXT NOT NULL REFERENCES volumes(id),
      tenant_id     TEXT NOT NULL REFERENCES tenants(id),
      state         TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
      requested_by  TEXT NOT NULL,
      keys_read     BIGINT NOT NULL DEFAULT 0,
      -- Totals and the counters they were compared with; a mismatch is reported, never hidden.
      result        JSONB,
      error         TEXT,
      created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
      started_at    TIMESTAMPTZ,
      finished_at   TIMESTAMPTZ
    );
    CREATE INDEX IF NOT EXISTS scans_volume ON scans (volume_id, created_at DESC);
    -- At most one walk of a volume at a time.
    CREATE UNIQUE INDEX IF NOT EXISTS scans_one_active ON scans (volume_id) WHERE state IN ('queued', 'running');

    CREATE TABLE IF NOT EXISTS directory_usage (
      scan_id        TEXT NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
      inode          BIGINT NOT NULL,
      -- Names are bytes in JuiceFS: the exact path as base64, and a lossy UTF-8 rendering.
      path_b64       TEXT NOT NULL,
      path           TEXT NOT NULL,
      depth          INTEGER NOT NULL,
      in_trash       BOOLEAN NOT NULL DEFAULT false,
      bytes          BIGINT NOT NULL,
      logical_bytes  BIGINT NOT NULL,
      inodes         BIGINT NOT NULL,
      files          BIGINT NOT NULL,
      dirs           BIGINT NOT NULL,
      direct_bytes   BIGINT NOT NULL,
      direct_inodes  BIGINT NOT NULL,
      PRIMARY KEY (scan_id, inode)
    );
    CREATE INDEX IF NOT EXISTS directory_usage_bytes ON directory_usage (scan_id, depth, bytes DESC);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS directory_usage; DROP TABLE IF EXISTS scans;`);
}
