import type { Knex } from 'knex';

/**
 * One word for a full directory walk (issue 13): the `scans` table becomes `walks`, and every
 * `scan_id` column `walk_id`, with their indexes. Each step runs only when its old name is still
 * there, so the migration is idempotent. Audit rows written before keep their meaning under the
 * new names (entity type `walk`, actions `walk.*`), so one filter finds a walk's whole history.
 * Walk ids made before keep their `scn_` prefix; the API accepts both.
 */
const COLUMNS = ['directory_usage', 'insight_walks', 'insight_findings', 'insight_directories'];

const renameColumns = (from: string, to: string) =>
  COLUMNS.map(
    (t) => `
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '${t}' AND column_name = '${from}') THEN
      ALTER TABLE ${t} RENAME COLUMN ${from} TO ${to};
    END IF;`,
  ).join('');

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DO $$ BEGIN
      IF to_regclass('scans') IS NOT NULL AND to_regclass('walks') IS NULL THEN
        ALTER TABLE scans RENAME TO walks;
      END IF;
      ${renameColumns('scan_id', 'walk_id')}
    END $$;
    ALTER INDEX IF EXISTS scans_pkey RENAME TO walks_pkey;
    ALTER INDEX IF EXISTS scans_volume RENAME TO walks_volume;
    ALTER INDEX IF EXISTS scans_one_active RENAME TO walks_one_active;
    UPDATE audit_events SET entity_type = 'walk' WHERE entity_type = 'scan';
    UPDATE audit_events SET action = 'walk.' || substr(action, 6) WHERE action LIKE 'scan.%';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DO $$ BEGIN
      IF to_regclass('walks') IS NOT NULL AND to_regclass('scans') IS NULL THEN
        ALTER TABLE walks RENAME TO scans;
      END IF;
      ${renameColumns('walk_id', 'scan_id')}
    END $$;
    ALTER INDEX IF EXISTS walks_pkey RENAME TO scans_pkey;
    ALTER INDEX IF EXISTS walks_volume RENAME TO scans_volume;
    ALTER INDEX IF EXISTS walks_one_active RENAME TO scans_one_active;
    UPDATE audit_events SET entity_type = 'scan' WHERE entity_type = 'walk';
    UPDATE audit_events SET action = 'scan.' || substr(action, 6) WHERE action LIKE 'walk.%';
  `);
}
