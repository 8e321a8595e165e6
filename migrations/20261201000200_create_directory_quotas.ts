import type { Knex } from 'knex';

/**
 * Directory quotas inside volumes (issue 17). One row per (volume, directory inode): the limits
 * Headroom manages, or, for a quota someone set with `juicefs quota set`, what was discovered
 * (`managed = false`: Headroom never writes those until an admin takes them over).
 *
 * The row is the desired state: `generation` grows with every change of what JuiceFS should
 * hold, and the JuiceFS record is written after commit; `applied_generation`, `observed` and the
 * error columns say how far that got, so a failed write is retried, never rolled into the
 * decision. A delete marks the row `deleting` first and removes it once the record is gone.
 *
 * `path` is the directory's bytes (JuiceFS names are arbitrary bytes); `inode` is the key, since
 * JuiceFS keys its record by inode and a rename keeps it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS directory_quotas (
      id                 TEXT PRIMARY KEY,
      tenant_id          TEXT NOT NULL REFERENCES tenants(id),
      volume_id          TEXT NOT NULL REFERENCES volumes(id),
      -- 'dir' (inode = the directory's inode), or JuiceFS 1.4's 'user'/'group' (inode = uid/gid, path empty).
      kind               TEXT NOT NULL DEFAULT 'dir' CHECK (kind IN ('dir', 'user', 'group')),
      path               BYTEA NOT NULL,
      inode              BIGINT NOT NULL CHECK (inode >= 0),
      soft_bytes         BIGINT,
      hard_bytes         BIGINT,
      soft_inodes        BIGINT,
      hard_inodes        BIGINT,
      grace_seconds      INT NOT NULL DEFAULT 0,
      owner_sub          TEXT,
      managed            BOOLEAN NOT NULL DEFAULT true,
      -- Whether JuiceFS enforces the hard limits itself (a >= 1.1 format with DirStats on).
      native             BOOLEAN NOT NULL,
      state              TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'deleting')),
      generation         BIGINT NOT NULL DEFAULT 1,
      applied_generation BIGINT NOT NULL DEFAULT 0,
      -- The record's limits when last written or read: {"maxSpace","maxInodes"} as decimal strings.
      observed           JSONB,
      last_error         TEXT,
      last_error_at      TIMESTAMPTZ,
      -- The policy's state (server/enforcement/policy.ts, the same code as volumes'): a frozen
      -- quota's desired limits are its usage (the directory's hard limit clamped to it).
      enf_state          TEXT NOT NULL DEFAULT 'ok' CHECK (enf_state IN ('ok', 'over_soft', 'frozen')),
      enf_since          TIMESTAMPTZ NOT NULL DEFAULT now(),
      enf_reason         TEXT,
      grace_deadline     TIMESTAMPTZ,
      unknown_reason     TEXT,
      manual_frozen      BOOLEAN NOT NULL DEFAULT false,
      manual_until       TIMESTAMPTZ,
      manual_reason      TEXT,
      -- NULL = the hard limits; set while frozen.
      desired_max_space  BIGINT,
      desired_max_inodes BIGINT,
      -- Usage from the latest walk, for quotas JuiceFS does not count (no native quotas).
      walk_bytes         BIGINT,
      walk_inodes        BIGINT,
      walk_at            TIMESTAMPTZ,
      created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
      UNIQUE (volume_id, kind, inode)
    );
    CREATE INDEX IF NOT EXISTS directory_quotas_tenant ON directory_quotas (tenant_id, volume_id, id);
    CREATE INDEX IF NOT EXISTS directory_quotas_owner ON directory_quotas (owner_sub) WHERE owner_sub IS NOT NULL;
    -- The reconcile pass looks only for rows whose JuiceFS record is behind.
    CREATE INDEX IF NOT EXISTS directory_quotas_pending ON directory_quotas (id) WHERE applied_generation < generation OR state = 'deleting';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS directory_quotas;`);
}
