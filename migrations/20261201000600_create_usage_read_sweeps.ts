import type { Knex } from 'knex';

/**
 * Readings become change-only. The counters pass used to upsert every volume's reading every five
 * minutes only to move `read_at` (10,000 rows a pass for 10,000 volumes, the largest cost of a
 * steady pass). Now a reading row is written when its bytes, inodes or error change (or a sample
 * is due), and each page the pass read records one row here: every active volume whose id lies
 * in [first_volume_id, last_volume_id] (the page, in PostgreSQL's own id order) was read
 * successfully at `read_at`, unless its row carries an error (a failed read).
 *
 * usage_readings_current is what every reader of reading age uses: `read_at` is the later of
 * the row's own and the newest sweep covering an active volume whose latest read succeeded.
 * Sweeps of one page range are upserted, so the table holds about one row per page; ranges a
 * changed fleet no longer produces are folded into usage_readings and deleted (usage-store's
 * `downsample`), so `read_at` never goes backwards. The view lists the table's columns: a
 * migration that adds one to usage_readings must recreate the view.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE IF NOT EXISTS usage_read_sweeps (
      first_volume_id TEXT NOT NULL,
      last_volume_id  TEXT NOT NULL,
      read_at         TIMESTAMPTZ NOT NULL,
      PRIMARY KEY (first_volume_id, last_volume_id)
    );

    CREATE OR REPLACE VIEW usage_readings_current AS
    SELECT r.volume_id, r.bytes, r.inodes,
           CASE WHEN r.read_at IS NULL OR r.error IS NOT NULL THEN r.read_at
                ELSE GREATEST(r.read_at, (SELECT max(s.read_at) FROM usage_read_sweeps s
                                           WHERE r.volume_id BETWEEN s.first_volume_id AND s.last_volume_id
                                             AND EXISTS (SELECT 1 FROM volumes v WHERE v.id = r.volume_id AND v.state = 'active')))
           END AS read_at,
           r.error, r.error_at, r.sampled_at, r.storage_bytes, r.storage_objects, r.storage_read_at
      FROM usage_readings r;
  `);
}

export async function down(knex: Knex): Promise<void> {
  // Fold the sweeps back into the rows first, so the older code sees the same reading ages.
  await knex.raw(`
    DO $$ BEGIN
      IF to_regclass('usage_readings_current') IS NOT NULL THEN
        UPDATE usage_readings r SET read_at = c.read_at
          FROM usage_readings_current c
         WHERE c.volume_id = r.volume_id AND c.read_at > r.read_at;
      END IF;
    END $$;
    DROP VIEW IF EXISTS usage_readings_current;
    DROP TABLE IF EXISTS usage_read_sweeps;
  `);
}
