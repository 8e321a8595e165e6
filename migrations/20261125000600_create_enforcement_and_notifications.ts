import type { Knex } from 'knex';

/**
 * Enforcement (one state row per volume plus its transitions), usage readings and samples, and
 * the notification outbox with its per-channel deliveries and admin-editable templates.
 *
 * The outbox rows are written in the same transaction as the transition they announce, so a
 * notice exists if and only if the change it describes committed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE tenants ADD COLUMN IF NOT EXISTS language TEXT NOT NULL DEFAULT 'en';
    ALTER TABLE tenants ADD COLUMN IF NOT EXISTS webhook_url TEXT;
    ALTER TABLE tenants DROP CONSTRAINT IF EXISTS tenants_language_check;
    ALTER TABLE tenants ADD CONSTRAINT tenants_language_check CHECK (language IN ('en', 'zh'));

    -- The latest counters reading of each volume, or why it failed. Enforcement decides only on
    -- a successful reading younger than its allowed age.
    CREATE TABLE IF NOT EXISTS usage_readings (
      volume_id   TEXT PRIMARY KEY REFERENCES volumes(id),
      bytes       BIGINT,
      inodes      BIGINT,
      read_at     TIMESTAMPTZ,
      error       TEXT,
      error_at    TIMESTAMPTZ,
      -- When the last sample was taken: an unchanged volume is sampled at most hourly.
      sampled_at  TIMESTAMPTZ
    );

    -- History for charts and forecasts: raw samples are folded into hourly, then daily rows.
    CREATE TABLE IF NOT EXISTS usage_samples (
      volume_id   TEXT NOT NULL REFERENCES volumes(id),
      resolution  TEXT NOT NULL CHECK (resolution IN ('raw', 'hour', 'day')),
      at          TIMESTAMPTZ NOT NULL,
      bytes       BIGINT NOT NULL,
      inodes      BIGINT NOT NULL,
      PRIMARY KEY (volume_id, resolution, at)
    );

    CREATE TABLE IF NOT EXISTS enforcement_states (
      volume_id         TEXT PRIMARY KEY REFERENCES volumes(id),
      tenant_id         TEXT NOT NULL REFERENCES tenants(id),
      state             TEXT NOT NULL CHECK (state IN ('ok', 'over_soft', 'frozen')),
      reason            TEXT NOT NULL,
      since             TIMESTAMPTZ NOT NULL DEFAULT now(),
      grace_deadline    TIMESTAMPTZ,
      -- The reading the last decision was made on.
      bytes             BIGINT,
      inodes            BIGINT,
      read_at           TIMESTAMPTZ,
      -- Set while the volume's data is unusable; the state above is then left alone.
      unknown_reason    TEXT,
      unknown_since     TIMESTAMPTZ,
      manual_reason     TEXT,
      manual_until      TIMESTAMPTZ,
      manual_by         TEXT,
      manual_at         TIMESTAMPTZ,
      -- What Headroom last wrote into the JuiceFS setting (Capacity/Inodes; 0 = unlimited).
      applied_capacity  BIGINT,
      applied_inodes    BIGINT,
      evaluated_at      TIMESTAMPTZ,
      -- When the time-to-full forecast was last checked (it is checked every few hours, not every pass).
      forecast_checked_at TIMESTAMPTZ,
      updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX IF NOT EXISTS enforcement_states_state ON enforcement_states (state);

    CREATE TABLE IF NOT EXISTS enforcement_transitions (
      id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      volume_id   TEXT NOT NULL REFERENCES volumes(id),
      tenant_id   TEXT NOT NULL REFERENCES tenants(id),
      at          TIMESTAMPTZ NOT NULL DEFAULT now(),
      from_state  TEXT NOT NULL,
      to_state    TEXT NOT NULL,
      reason      TEXT NOT NULL,
      bytes       BIGINT,
      inodes      BIGINT,
      limits      JSONB NOT NULL,
      actor       TEXT NOT NULL,
      detail      TEXT
    );
    CREATE INDEX IF NOT EXISTS enforcement_transitions_volume ON enforcement_transitions (volume_id, id DESC);

    -- The outbox. event_key makes an event unique: enqueueing it twice is a no-op.
    CREATE TABLE IF NOT EXISTS notifications (
      id          TEXT PRIMARY KEY,
      event_key   TEXT NOT NULL UNIQUE,
      type        TEXT NOT NULL,
      version     INTEGER NOT NULL,
      audience    TEXT NOT NULL CHECK (audience IN ('tenant', 'admins')),
      tenant_id   TEXT REFERENCES tenants(id),
      volume_id   TEXT REFERENCES volumes(id),
      language    TEXT NOT NULL,
      data        JSONB NOT NULL,
      created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX IF NOT EXISTS notifications_tenant ON notifications (tenant_id, id DESC);

    CREATE TABLE IF NOT EXISTS notification_deliveries (
      notification_id  TEXT NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
      channel          TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
      target           TEXT NOT NULL,
      state            TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
      attempts         INTEGER NOT NULL DEFAULT 0,
      next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
      locked_until     TIMESTAMPTZ,
      last_error       TEXT,
      delivered_at     TIMESTAMPTZ,
      PRIMARY KEY (notification_id, channel)
    );
    CREATE INDEX IF NOT EXISTS notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE state IN ('pending', 'sending');

    -- Admin overrides of the built-in templates, per event type and language.
    CREATE TABLE IF NOT EXISTS notification_templates (
      type        TEXT NOT NULL,
      language    TEXT NOT NULL,
      subject     TEXT NOT NULL,
      text        TEXT NOT NULL,
      html        TEXT NOT NULL,
      updated_by  TEXT NOT NULL,
      updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (type, language)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS notification_templates;
    DROP TABLE IF EXISTS notification_deliveries;
    DROP TABLE IF EXISTS notifications;
    DROP TABLE IF EXISTS enforcement_transitions;
    DROP TABLE IF EXISTS enforcement_states;
    DROP TABLE IF EXISTS usage_samples;
    DROP TABLE IF EXISTS usage_readings;
    ALTER TABLE tenants DROP CONSTRAINT IF EXISTS tenants_language_check;
    ALTER TABLE tenants DROP COLUMN IF EXISTS webhook_url;
    ALTER TABLE tenants DROP COLUMN IF EXISTS language;
  `);
}
