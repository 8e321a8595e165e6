import type { Knex } from 'knex';

/**
 * Quota requests for directory quotas (issue 17): one requests table for volumes and directories,
 * so the admin queue, the rules and the revert of temporary grants stay one piece of code.
 *
 * `directory_quota_id` is null for a request on the volume's own quota. It has no foreign key on
 * purpose: a deleted directory quota's row is removed once its JuiceFS record is gone, while its
 * requests stay as history; `directory_path` keeps the directory's bytes as they were when asked.
 *
 * "One pending request per volume" now holds for volume requests only, and "one pending request
 * per directory quota" is its twin, both as partial unique indexes so racing asks cannot both be
 * pending. Dropping and recreating the volume index keeps the migration idempotent.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE quota_requests ADD COLUMN IF NOT EXISTS directory_quota_id TEXT;
    ALTER TABLE quota_requests ADD COLUMN IF NOT EXISTS directory_path BYTEA;
    DROP INDEX IF EXISTS quota_requests_one_pending;
    CREATE UNIQUE INDEX IF NOT EXISTS quota_requests_one_pending ON quota_requests (volume_id) WHERE state = 'pending' AND directory_quota_id IS NULL;
    CREATE UNIQUE INDEX IF NOT EXISTS quota_requests_one_pending_directory ON quota_requests (directory_quota_id) WHERE state = 'pending' AND directory_quota_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS quota_requests_directory ON quota_requests (directory_quota_id, id) WHERE directory_quota_id IS NOT NULL;
  `);
}

/** Back to volume requests only: directory requests go (the old index could not hold them). */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS quota_requests_directory;
    DROP INDEX IF EXISTS quota_requests_one_pending_directory;
    DELETE FROM quota_requests WHERE directory_quota_id IS NOT NULL;
    DROP INDEX IF EXISTS quota_requests_one_pending;
    CREATE UNIQUE INDEX IF NOT EXISTS quota_requests_one_pending ON quota_requests (volume_id) WHERE state = 'pending';
    ALTER TABLE quota_requests DROP COLUMN IF EXISTS directory_path;
    ALTER TABLE quota_requests DROP COLUMN IF EXISTS directory_quota_id;
  `);
}
