import type { Knex } from 'knex';

/**
 * Chat channels and early-warning pacing (issue 18).
 *
 * - notification_channels: a tenant's chat channels (Slack, Feishu/Lark, DingTalk, WeCom) and
 *   extra webhook or email targets. The target and its signing secret are one sealed JSON value
 *   (secret-box.ts): a Slack or WeCom webhook address is itself the credential. `hint` is what
 *   the API shows instead (kind, host, last 4 characters).
 * - notification_deliveries: one row per notice and target. A tenant may have several channels
 *   of one kind, so the key becomes (notice, channel kind, target); chat deliveries name the
 *   channel id as their target (never the secret address), resolved when they are sent.
 * - forecast_warnings: what the last early warnings of a volume said and when, per limit, so a
 *   warning is sent once per crossing, again only when the forecast moves materially, and never
 *   more than a configured number per day (server/notifications/forecast-pacing.ts decides).
 * - tenant_digests: the weekly digest sent per tenant and ISO week (idempotent by week).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS notification_channels (
      id             TEXT PRIMARY KEY,
      tenant_id      TEXT NOT NULL REFERENCES tenants(id),
      kind           TEXT NOT NULL CHECK (kind IN ('slack', 'feishu', 'dingtalk', 'wecom', 'webhook', 'email')),
      name           TEXT NOT NULL,
      enabled        BOOLEAN NOT NULL DEFAULT true,
      sealed_config  TEXT NOT NULL,
      hint           TEXT NOT NULL,
      created_by     TEXT NOT NULL,
      created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
      UNIQUE (tenant_id, name)
    );
    CREATE INDEX IF NOT EXISTS notification_channels_tenant ON notification_channels (tenant_id, id);

    ALTER TABLE notification_deliveries DROP CONSTRAINT IF EXISTS notification_deliveries_channel_check;
    ALTER TABLE notification_deliveries ADD CONSTRAINT notification_deliveries_channel_check
      CHECK (channel IN ('webhook', 'email', 'slack', 'feishu', 'dingtalk', 'wecom'));
    DO $$
    BEGIN
      IF NOT EXISTS (
        SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
         WHERE c.relname = 'notification_deliveries' AND i.indisprimary AND i.indnatts = 3
      ) THEN
        ALTER TABLE notification_deliveries DROP CONSTRAINT IF EXISTS notification_deliveries_pkey;
        ALTER TABLE notification_deliveries ADD PRIMARY KEY (notification_id, channel, target);
      END IF;
    END $$;

    CREATE TABLE IF NOT EXISTS forecast_warnings (
      volume_id   TEXT PRIMARY KEY REFERENCES volumes(id),
      tenant_id   TEXT NOT NULL REFERENCES tenants(id),
      -- { "soft": { "fullAt", "secondsToFull", "notifiedAt" }, "hard": {...}, "recent": [ISO times] }
      memory      JSONB NOT NULL,
      updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    CREATE TABLE IF NOT EXISTS tenant_digests (
      tenant_id        TEXT NOT NULL REFERENCES tenants(id),
      week             TEXT NOT NULL,
      notification_id  TEXT,
      created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, week)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS tenant_digests;
    DROP TABLE IF EXISTS forecast_warnings;
    DELETE FROM notification_deliveries WHERE channel NOT IN ('webhook', 'email') OR target LIKE 'chn\\_%';
    ALTER TABLE notification_deliveries DROP CONSTRAINT IF EXISTS notification_deliveries_pkey;
    ALTER TABLE notification_deliveries ADD PRIMARY KEY (notification_id, channel);
    ALTER TABLE notification_deliveries DROP CONSTRAINT IF EXISTS notification_deliveries_channel_check;
    ALTER TABLE notification_deliveries ADD CONSTRAINT notification_deliveries_channel_check CHECK (channel IN ('webhook', 'email'));
    DROP TABLE IF EXISTS notification_channels;
  `);
}
