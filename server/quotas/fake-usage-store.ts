/**
 * The in-memory {@link UsageStore} of unit tests. It keeps what PostgreSQL keeps (reading rows,
 * sweep rows, samples) and answers as the `usage_readings_current` view does, so change-only
 * writes, sweep-carried ages, failures and downsampling behave alike; passes
 * test/contract/usage-store.contract.ts. Volumes' facts (active, bucket) come from `volumes`,
 * which tests fill; a reading of a volume not listed there counts as one of an active volume
 * without a bucket (PostgreSQL has no reading without a volume row). Ids sort by code point and
 * hours and days are cut in UTC (PostgreSQL: the collation and the session time zone).
 */
import type { Db } from '../db/database.js';
import type { Sample } from './forecast.js';
import { downsampleCutoffs, type Resolution } from './sample-retention.js';
import type { Reading, RecordOptions, StorageComparisonRow, StoredReading, StoredSample, UsageStore } from './usage-store.js';

const CHUNK = 1000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A `usage_readings` row. */
interface Row {
  bytes: bigint | null;
  inodes: bigint | null;
  readAt: Date | null;
  error: string | null;
  errorAt: Date | null;
  sampledAt: Date | null;
  storageBytes: bigint | null;
  storageObjects: bigint | null;
  storageReadAt: Date | null;
}

/** What the usage tables read of a volume's row. */
export interface FakeVolumeFacts {
  active: boolean;
  bucket: string | null;
}

const emptyRow = (): Row => ({ bytes: null, inodes: null, readAt: null, error: null, errorAt: null, sampledAt: null, storageBytes: null, storageObjects: null, storageReadAt: null });
const sampleKey = (volumeId: string, resolution: Resolution, at: Date) => `${volumeId}\u0000${resolution}\u0000${at.getTime()}`;
const trunc = (at: Date, unit: number) => new Date(Math.floor(at.getTime() / unit) * unit);
const later = (a: Date | null, b: Date | null) => (!a ? b : !b || a >= b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/** {@link UsageStore} in memory. */
export class FakeUsageStore implements UsageStore {
  private rows = new Map<string, Row>();
  private sweeps = new Map<string, { first: string; last: string; readAt: Date }>();
  private samples = new Map<string, StoredSample & { volumeId: string }>();
  /** Volumes the tables join with, by id (tests fill it). */
  readonly volumes = new Map<string, FakeVolumeFacts>();

  /** Writes land at once: the caller's transaction is not modelled. */
  transacting(_trx: Db): UsageStore {
    return this;
  }

  private active(volumeId: string): boolean {
    return this.volumes.get(volumeId)?.active ?? true;
  }

  private row(volumeId: string): Row {
    const r = this.rows.get(volumeId) ?? emptyRow();
    this.rows.set(volumeId, r);
    return r;
  }

  /** `read_at` as the view answers it: the newest covering sweep counts for an active volume read fine. */
  private currentReadAt(volumeId: string, r: Row): Date | null {
    if (!r.readAt || r.error !== null || !this.active(volumeId)) return r.readAt;
    let at: Date | null = r.readAt;
    for (const s of this.sweeps.values()) if (volumeId >= s.first && volumeId <= s.last) at = later(at, s.readAt);
    return at;
  }

  async recordReadings(readings: readonly Reading[], opts: RecordOptions = {}): Promise<void> {
    for (let i = 0; i < readings.length; i += CHUNK) {
      const part = readings.slice(i, i + CHUNK);
      // Failures first, as the knex store does: the chunk's sweep must not count for a failed volume.
      for (const b of part) if (!b.ok) this.recordFailure(b.volumeId, b.error, b.at);
      const good = part.filter((r): r is Extract<Reading, { ok: true }> => r.ok);
      if (good.length) this.recordGood(good, opts.sweep === true);
    }
  }

  private recordFailure(volumeId: string, error: string, at: Date): void {
    const r = this.row(volumeId);
    // Fine until now: the sweep-carried age moves into the row, since sweeps skip rows with an error.
    if (r.error === null) r.readAt = this.currentReadAt(volumeId, r);
    r.error = error;
    r.errorAt = at;
  }

  private recordGood(good: readonly Extract<Reading, { ok: true }>[], sweep: boolean): void {
    // One statement in PostgreSQL: every reading compares with the rows as they were before it.
    const prev = new Map(good.map((g) => [g.volumeId, this.rows.get(g.volumeId)]));
    for (const g of good) {
      const p = prev.get(g.volumeId);
      const due = !p || p.bytes === null || p.bytes !== g.bytes || p.inodes !== g.inodes || !p.sampledAt || p.sampledAt.getTime() < g.at.getTime() - HOUR;
      const key = sampleKey(g.volumeId, 'raw', g.at);
      if (due && !this.samples.has(key)) this.samples.set(key, { volumeId: g.volumeId, resolution: 'raw', at: g.at, bytes: g.bytes, inodes: g.inodes });
      // Unchanged, already read and without an error: the sweep below carries its age.
      if (sweep && !due && p && p.error === null && p.readAt) continue;
      Object.assign(this.row(g.volumeId), { bytes: g.bytes, inodes: g.inodes, readAt: g.at, error: null, errorAt: null, sampledAt: due ? g.at : (p?.sampledAt ?? null) });
    }
    if (!sweep) return;
    const ids = good.map((g) => g.volumeId).sort();
    const first = ids[0]!;
    const last = ids[ids.length - 1]!;
    const readAt = new Date(Math.min(...good.map((g) => g.at.getTime())));
    this.sweeps.set(`${first}\u0000${last}`, { first, last, readAt });
  }

  async latestReadings(volumeIds: readonly string[]): Promise<Map<string, StoredReading>> {
    const out = new Map<string, StoredReading>();
    for (const id of volumeIds) {
      const r = this.rows.get(id);
      if (!r) continue;
      const { sampledAt: _, ...rest } = r;
      out.set(id, { volumeId: id, ...rest, readAt: this.currentReadAt(id, r) });
    }
    return out;
  }

  async hourlySamples(volumeIds: readonly string[], since: Date): Promise<Map<string, Sample[]>> {
    const ids = new Set(volumeIds);
    // The latest sample of each volume's hour, whatever its resolution.
    const latest = new Map<string, StoredSample & { volumeId: string }>();
    for (const s of this.samples.values()) {
      if (!ids.has(s.volumeId) || s.at < since) continue;
      const k = `${s.volumeId}\u0000${trunc(s.at, HOUR).getTime()}`;
      const had = latest.get(k);
      if (!had || had.at < s.at) latest.set(k, s);
    }
    const out = new Map<string, Sample[]>();
    for (const s of [...latest.values()].sort((a, b) => (a.volumeId === b.volumeId ? a.at.getTime() - b.at.getTime() : a.volumeId < b.volumeId ? -1 : 1))) {
      const list = out.get(s.volumeId) ?? [];
      list.push({ at: s.at, bytes: s.bytes, inodes: s.inodes });
      out.set(s.volumeId, list);
    }
    return out;
  }

  async listSamples(volumeId: string, since: Date, until: Date, resolution?: Resolution): Promise<StoredSample[]> {
    return [...this.samples.values()]
      .filter((s) => s.volumeId === volumeId && s.at >= since && s.at < until && (!resolution || s.resolution === resolution))
      .sort((a, b) => a.at.getTime() - b.at.getTime())
      .slice(0, 5000)
      .map(({ at, bytes, inodes, resolution: res }) => ({ at, bytes, inodes, resolution: res }));
  }

  async downsample(now: Date): Promise<{ folded: number; pruned: number }> {
    const cut = downsampleCutoffs(now);
    const folded = this.fold('raw', 'hour', HOUR, cut.rawBefore) + this.fold('hour', 'day', DAY, cut.hourBefore);
    this.foldSweeps(new Date(now.getTime() - HOUR));
    let pruned = 0;
    for (const [k, s] of this.samples) {
      if (s.resolution === 'day' && s.at < cut.dayBefore) pruned += Number(this.samples.delete(k));
    }
    return { folded, pruned };
  }

  /** Moves samples of `from` before `olderThan` into maxima of `to` per bucket; the number of buckets written. */
  private fold(from: Resolution, to: Resolution, unit: number, olderThan: Date): number {
    const buckets = new Map<string, StoredSample & { volumeId: string }>();
    for (const [k, s] of this.samples) {
      if (s.resolution !== from || s.at >= olderThan) continue;
      this.samples.delete(k);
      const at = trunc(s.at, unit);
      const key = sampleKey(s.volumeId, to, at);
      const b = buckets.get(key) ?? this.samples.get(key) ?? { volumeId: s.volumeId, resolution: to, at, bytes: s.bytes, inodes: s.inodes };
      buckets.set(key, { ...b, bytes: max(b.bytes, s.bytes), inodes: max(b.inodes, s.inodes) });
    }
    for (const [k, b] of buckets) this.samples.set(k, b);
    return buckets.size;
  }

  /** Sweeps not renewed since `before`: their times move into the rows they covered, then they go. */
  private foldSweeps(before: Date): void {
    const gone = [...this.sweeps].filter(([, s]) => s.readAt < before);
    for (const [k] of gone) this.sweeps.delete(k);
    for (const [id, r] of this.rows) {
      if (r.error !== null || !r.readAt || !this.active(id)) continue;
      for (const [, s] of gone) if (id >= s.first && id <= s.last) r.readAt = later(r.readAt, s.readAt);
    }
  }

  async storageComparison(): Promise<StorageComparisonRow[]> {
    return [...this.volumes].filter(([, v]) => v.active && v.bucket !== null).map(([id, v]) => ({ volumeId: id, bucket: v.bucket!, bytes: this.rows.get(id)?.bytes ?? null }));
  }

  async recordStorageUsage(volumeId: string, u: { bytes: bigint; objects: bigint }, at: Date): Promise<void> {
    Object.assign(this.row(volumeId), { storageBytes: u.bytes, storageObjects: u.objects, storageReadAt: at });
  }
}
