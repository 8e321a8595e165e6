/**
 * PostgreSQL store for usage readings (the latest per volume, success or failure) and the
 * sample history behind charts and forecasts.
 *
 * Samples are kept at three resolutions: raw (every counters pass) for two days, hourly maxima
 * for five weeks, daily maxima for two years. Maxima, not averages: a chart of a quota should
 * never hide the peak that froze a volume.
 */
import type { Db } from '../db/database.js';
import type { Sample } from './forecast.js';

/** A counters reading of one volume. */
export type Reading = { volumeId: string; ok: true; bytes: bigint; inodes: bigint; at: Date } | { volumeId: string; ok: false; error: string; at: Date };

/** The latest reading of a volume as stored. */
export interface StoredReading {
  volumeId: string;
  bytes: bigint | null;
  inodes: bigint | null;
  readAt: Date | null;
  error: string | null;
  errorAt: Date | null;
  /** What the volume's bucket holds, from the storage side (null without an object store). */
  storageBytes: bigint | null;
  storageObjects: bigint | null;
  storageReadAt: Date | null;
}

const CHUNK = 1000;

/**
 * Stores readings: upserts the latest per volume, and appends a raw sample when usage changed
 * or the last sample is an hour old (a still volume does not fill the history with copies).
 * One statement per 1,000 volumes, with arrays as parameters, so a 10,000-volume pass costs ten
 * round trips.
 */
export async function recordReadings(db: Db, readings: readonly Reading[]): Promise<void> {
  for (let i = 0; i < readings.length; i += CHUNK) {
    const part = readings.slice(i, i + CHUNK);
    const good = part.filter((r): r is Extract<Reading, { ok: true }> => r.ok);
    const bad = part.filter((r): r is Extract<Reading, { ok: false }> => !r.ok);
    if (good.length) {
      await db.raw(
        `WITH input AS (
           SELECT * FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::timestamptz[]) AS t(volume_id, bytes, inodes, at)
         ), prev AS (
           SELECT i.*, r.bytes AS pb, r.inodes AS pi, r.sampled_at AS ps FROM input i LEFT JOIN usage_readings r USING (volume_id)
         ), due AS (
           SELECT volume_id, bytes, inodes, at FROM prev
            WHERE pb IS NULL OR pb <> bytes OR pi <> inodes OR ps IS NULL OR ps < at - interval '1 hour'
         ), sampled AS (
           INSERT INTO usage_samples (volume_id, resolution, at, bytes, inodes)
           SELECT volume_id, 'raw', at, bytes, inodes FROM due
           ON CONFLICT (volume_id, resolution, at) DO NOTHING
         )
         INSERT INTO usage_readings (volume_id, bytes, inodes, read_at, error, error_at, sampled_at)
         SELECT p.volume_id, p.bytes, p.inodes, p.at, NULL, NULL, CASE WHEN d.volume_id IS NULL THEN p.ps ELSE p.at END
           FROM prev p LEFT JOIN due d USING (volume_id)
         ON CONFLICT (volume_id) DO UPDATE
           SET bytes = EXCLUDED.bytes, inodes = EXCLUDED.inodes, read_at = EXCLUDED.read_at,
               error = NULL, error_at = NULL, sampled_at = EXCLUDED.sampled_at`,
        [good.map((r) => r.volumeId), good.map((r) => r.bytes.toString()), good.map((r) => r.inodes.toString()), good.map((r) => r.at.toISOString())],
      );
    }
    if (bad.length) {
      // A failure keeps the last good numbers (for display) but records why the new read failed.
      await db('usage_readings')
        .insert(bad.map((r) => ({ volume_id: r.volumeId, error: r.error, error_at: r.at })))
        .onConflict('volume_id')
        .merge(['error', 'error_at']);
    }
  }
}

const fromRow = (r: Record<string, unknown>): StoredReading => ({
  volumeId: r.volume_id as string,
  bytes: (r.bytes as bigint | null) ?? null,
  inodes: (r.inodes as bigint | null) ?? null,
  readAt: (r.read_at as Date | null) ?? null,
  error: (r.error as string | null) ?? null,
  errorAt: (r.error_at as Date | null) ?? null,
  storageBytes: (r.storage_bytes as bigint | null) ?? null,
  storageObjects: (r.storage_objects as bigint | null) ?? null,
  storageReadAt: (r.storage_read_at as Date | null) ?? null,
});

/** The latest readings of the given volumes, by volume id. */
export async function latestReadings(db: Db, volumeIds: readonly string[]): Promise<Map<string, StoredReading>> {
  const out = new Map<string, StoredReading>();
  for (let i = 0; i < volumeIds.length; i += CHUNK) {
    const rows = (await db('usage_readings').whereIn('volume_id', volumeIds.slice(i, i + CHUNK))) as Record<string, unknown>[];
    for (const r of rows) out.set(r.volume_id as string, fromRow(r));
  }
  return out;
}

/**
 * Samples of many volumes since `since`, thinned to at most one per hour (the latest of each
 * hour): enough for a days-long trend, and bounded however often counters are read.
 */
export async function hourlySamples(db: Db, volumeIds: readonly string[], since: Date): Promise<Map<string, Sample[]>> {
  const out = new Map<string, Sample[]>();
  if (!volumeIds.length) return out;
  const r = await db.raw(
    `SELECT DISTINCT ON (volume_id, date_trunc('hour', at)) volume_id, at, bytes, inodes
       FROM usage_samples WHERE volume_id = ANY(?::text[]) AND at >= ?
      ORDER BY volume_id, date_trunc('hour', at), at DESC`,
    [volumeIds as string[], since],
  );
  for (const row of (r as { rows: { volume_id: string; at: Date; bytes: bigint; inodes: bigint }[] }).rows) {
    const list = out.get(row.volume_id) ?? [];
    list.push({ at: row.at, bytes: row.bytes, inodes: row.inodes });
    out.set(row.volume_id, list);
  }
  return out;
}

/** Resolutions of stored samples. */
export type Resolution = 'raw' | 'hour' | 'day';

/** Samples of one volume in [since, until), oldest first; all resolutions unless one is named. */
export async function listSamples(db: Db, volumeId: string, since: Date, until: Date, resolution?: Resolution): Promise<(Sample & { resolution: Resolution })[]> {
  const q = db('usage_samples').where({ volume_id: volumeId }).where('at', '>=', since).where('at', '<', until).orderBy('at').limit(5000);
  if (resolution) q.where({ resolution });
  const rows = (await q) as Record<string, unknown>[];
  return rows.map((r) => ({ at: r.at as Date, bytes: r.bytes as bigint, inodes: r.inodes as bigint, resolution: r.resolution as Resolution }));
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Folds old raw samples into hourly maxima and old hourly ones into daily maxima, then prunes.
 * Idempotent: re-folding a bucket takes the max with what is already there.
 */
export async function downsample(db: Db, now: Date): Promise<{ folded: number; pruned: number }> {
  let folded = 0;
  // `unit` is one of two literals (never input), inlined so GROUP BY sees the same expression.
  const fold = async (from: Resolution, to: Resolution, unit: 'hour' | 'day', olderThan: Date) => {
    const r = await db.raw(
      `WITH gone AS (
         DELETE FROM usage_samples WHERE resolution = ? AND at < ? RETURNING volume_id, at, bytes, inodes
       )
       INSERT INTO usage_samples (volume_id, resolution, at, bytes, inodes)
       SELECT volume_id, ?, date_trunc('${unit}', at), max(bytes), max(inodes) FROM gone GROUP BY 1, 3
       ON CONFLICT (volume_id, resolution, at) DO UPDATE
         SET bytes = GREATEST(usage_samples.bytes, EXCLUDED.bytes), inodes = GREATEST(usage_samples.inodes, EXCLUDED.inodes)`,
      [from, olderThan, to],
    );
    folded += (r as { rowCount: number }).rowCount ?? 0;
  };
  // Fold only whole buckets: the cut-off is rounded down to the unit.
  await fold('raw', 'hour', 'hour', new Date(Math.floor((now.getTime() - 2 * DAY) / HOUR) * HOUR));
  await fold('hour', 'day', 'day', new Date(Math.floor((now.getTime() - 35 * DAY) / DAY) * DAY));
  const pruned = await db('usage_samples')
    .where({ resolution: 'day' })
    .where('at', '<', new Date(now.getTime() - 730 * DAY))
    .delete();
  return { folded, pruned };
}
