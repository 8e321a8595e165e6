import type { Knex } from 'knex';

/** One row per scheduled or manual job run: when, where, how it ended, and what it did. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS job_runs (
      id           TEXT PRIMARY KEY,
      job          TEXT NOT NULL,
      trigger      TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
      instance     TEXT NOT NULL,
      state        TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'skipped')),
      counts       JSONB NOT NULL DEFAULT '{}'::jsonb,
      error        TEXT,
      started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
      finished_at  TIMESTAMPTZ
    );
    CREATE INDEX IF NOT EXISTS job_runs_job ON job_runs (job, started_at DESC);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS job_runs;`);
}
