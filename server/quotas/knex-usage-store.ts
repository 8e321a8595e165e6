/** The PostgreSQL {@link UsageStore} over `usage_readings`, `usage_read_sweeps` and `usage_samples`. Row mapping stays private to this file. */
import type { Db } from '../db/database.js';
import type { Sample } from './forecast.js';
import { downsampleCutoffs, type Resolution } from './sample-retention.js';
import type { Reading, RecordOptions, StorageComparisonRow, StoredReading, StoredSample, UsageStore } from './usage-store.js';

const CHUNK = 1000;
const HOUR = 3_600_000;

type Good = Extract<Reading, { ok: true }>;
type Bad = Extract<Reading, { ok: false }>;

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

/** {@link UsageStore} over PostgreSQL; `db` is the pool or the caller's transaction. */
export class KnexUsageStore implements UsageStore {
  constructor(private readonly db: Db) {}

  transacting(trx: Db): UsageStore {
    return new KnexUsageStore(trx);
  }

  /** One statement per 1,000 volumes (two when some failed), with arrays as parameters. */
  async recordReadings(readings: readonly Reading[], opts: RecordOptions = {}): Promise<void> {
    for (let i = 0; i < readings.length; i += CHUNK) {
      const part = readings.slice(i, i + CHUNK);
      const good = part.filter((r): r is Good => r.ok);
      const bad = part.filter((r): r is Bad => !r.ok);
      // Failures first: the sweep this chunk records must not count as a success of a failed volume.
      if (bad.length) await this.recordFailures(bad);
      if (good.length) await this.recordGood(good, opts.sweep === true);
    }
  }

  /**
   * A failure keeps the last good numbers (for display) but records why the new read failed. A
   * volume that was fine until now takes its sweep-carried age into its own row, since sweeps do
   * not count for a row with an error.
   */
  private async recordFailures(bad: readonly Bad[]): Promise<void> {
    await this.db.raw(
      `WITH input AS (
       SELECT * FROM unnest(?::text[], ?::text[], ?::timestamptz[]) AS t(volume_id, error, at)
     )
     INSERT INTO usage_readings AS r (volume_id, error, error_at)
     SELECT volume_id, error, at FROM input
     ON CONFLICT (volume_id) DO UPDATE
       SET error = EXCLUDED.error, error_at = EXCLUDED.error_at,
           read_at = CASE WHEN r.error IS NULL
                          THEN (SELECT c.read_at FROM usage_readings_current c WHERE c.volume_id = r.volume_id)
                          ELSE r.read_at END`,
      [bad.map((r) => r.volumeId), bad.map((r) => r.error), bad.map((r) => r.at.toISOString())],
    );
  }

  /** Successful readings of one chunk: changed rows (or all without `sweep`), samples, the sweep. */
  private async recordGood(good: readonly Good[], sweep: boolean): Promise<void> {
    await this.db.raw(
      `WITH input AS (
       SELECT * FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::timestamptz[]) AS t(volume_id, bytes, inodes, at)
     ), prev AS (
       SELECT i.*, r.bytes AS pb, r.inodes AS pi, r.sampled_at AS ps, r.read_at AS pr, r.error AS pe
         FROM input i LEFT JOIN usage_readings r USING (volume_id)
     ), due AS (
       SELECT volume_id, bytes, inodes, at FROM prev
        WHERE pb IS NULL OR pb <> bytes OR pi IS DISTINCT FROM inodes OR ps IS NULL OR ps < at - interval '1 hour'
     ), sampled AS (
       INSERT INTO usage_samples (volume_id, resolution, at, bytes, inodes)
       SELECT volume_id, 'raw', at, bytes, inodes FROM due
       ON CONFLICT (volume_id, resolution, at) DO NOTHING
     ), written AS (
       INSERT INTO usage_readings (volume_id, bytes, inodes, read_at, error, error_at, sampled_at)
       SELECT p.volume_id, p.bytes, p.inodes, p.at, NULL, NULL, CASE WHEN d.volume_id IS NULL THEN p.ps ELSE p.at END
         FROM prev p LEFT JOIN due d USING (volume_id)
        -- Unchanged, already read and without an error: the sweep below carries its age.
        WHERE NOT ?::boolean OR d.volume_id IS NOT NULL OR p.pe IS NOT NULL OR p.pr IS NULL
       ON CONFLICT (volume_id) DO UPDATE
         SET bytes = EXCLUDED.bytes, inodes = EXCLUDED.inodes, read_at = EXCLUDED.read_at,
             error = NULL, error_at = NULL, sampled_at = EXCLUDED.sampled_at
     )
     INSERT INTO usage_read_sweeps (first_volume_id, last_volume_id, read_at)
     SELECT min(volume_id), max(volume_id), min(at) FROM input WHERE ?::boolean HAVING count(*) > 0
     ON CONFLICT (first_volume_id, last_volume_id) DO UPDATE SET read_at = EXCLUDED.read_at`,
      [good.map((r) => r.volumeId), good.map((r) => r.bytes.toString()), good.map((r) => r.inodes.toString()), good.map((r) => r.at.toISOString()), sweep, sweep],
    );
  }

  async latestReadings(volumeIds: readonly string[]): Promise<Map<string, StoredReading>> {
    const out = new Map<string, StoredReading>();
    for (let i = 0; i < volumeIds.length; i += CHUNK) {
      // The view: `read_at` includes the sweeps of the pages the volume was read in unchanged.
      const rows = (await this.db('usage_readings_current').whereRaw('volume_id = ANY(?::text[])', [volumeIds.slice(i, i + CHUNK)])) as Record<string, unknown>[];
      for (const r of rows) out.set(r.volume_id as string, fromRow(r));
    }
    return out;
  }

  async hourlySamples(volumeIds: readonly string[], since: Date): Promise<Map<string, Sample[]>> {
    const out = new Map<string, Sample[]>();
    if (!volumeIds.length) return out;
    const r = await this.db.raw(
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

  async listSamples(volumeId: string, since: Date, until: Date, resolution?: Resolution): Promise<StoredSample[]> {
    const q = this.db('usage_samples').where({ volume_id: volumeId }).where('at', '>=', since).where('at', '<', until).orderBy('at').limit(5000);
    if (resolution) q.where({ resolution });
    const rows = (await q) as Record<string, unknown>[];
    return rows.map((r) => ({ at: r.at as Date, bytes: r.bytes as bigint, inodes: r.inodes as bigint, resolution: r.resolution as Resolution }));
  }

  async downsample(now: Date): Promise<{ folded: number; pruned: number }> {
    let folded = 0;
    // `unit` is one of two literals (never input), inlined so GROUP BY sees the same expression.
    const fold = async (from: Resolution, to: Resolution, unit: 'hour' | 'day', olderThan: Date) => {
      const r = await this.db.raw(
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
    // Fold only whole buckets: the cut-offs are rounded down to the unit.
    const cut = downsampleCutoffs(now);
    await fold('raw', 'hour', 'hour', cut.rawBefore);
    await fold('hour', 'day', 'day', cut.hourBefore);
    await this.foldSweeps(new Date(now.getTime() - HOUR));
    const pruned = await this.db('usage_samples').where({ resolution: 'day' }).where('at', '<', cut.dayBefore).delete();
    return { folded, pruned };
  }

  /**
   * Sweeps not renewed since `before` belong to page ranges the pass no longer produces (volumes
   * were added or removed): their times move into the rows they covered, then they go, so the
   * table stays about one row per page and no reading's age goes backwards.
   */
  private async foldSweeps(before: Date): Promise<void> {
    await this.db.raw(
      `WITH gone AS (
       DELETE FROM usage_read_sweeps WHERE read_at < ? RETURNING first_volume_id, last_volume_id, read_at
     ), folded AS (
       SELECT r.volume_id, max(g.read_at) AS read_at
         FROM usage_readings r
         JOIN gone g ON r.volume_id BETWEEN g.first_volume_id AND g.last_volume_id
         JOIN volumes v ON v.id = r.volume_id AND v.state = 'active'
        WHERE r.error IS NULL AND r.read_at IS NOT NULL
        GROUP BY r.volume_id
     )
     UPDATE usage_readings r SET read_at = f.read_at FROM folded f WHERE r.volume_id = f.volume_id AND f.read_at > r.read_at`,
      [before],
    );
  }

  async storageComparison(): Promise<StorageComparisonRow[]> {
    const rows = (await this.db('volumes as v')
      .leftJoin('usage_readings as r', 'r.volume_id', 'v.id')
      .where('v.state', 'active')
      .whereNotNull('v.storage_bucket')
      .select('v.id', 'v.storage_bucket', 'r.bytes')) as { id: string; storage_bucket: string; bytes: bigint | null }[];
    return rows.map((r) => ({ volumeId: r.id, bucket: r.storage_bucket, bytes: r.bytes === null ? null : BigInt(r.bytes) }));
  }

  async recordStorageUsage(volumeId: string, u: { bytes: bigint; objects: bigint }, at: Date): Promise<void> {
    await this.db('usage_readings')
      .insert({ volume_id: volumeId, storage_bytes: u.bytes.toString(), storage_objects: u.objects.toString(), storage_read_at: at })
      .onConflict('volume_id')
      .merge(['storage_bytes', 'storage_objects', 'storage_read_at']);
  }
}
