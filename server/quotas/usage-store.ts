/**
 * The store of usage readings (the latest per volume, success or failure) and the sample
 * history behind charts and forecasts. `KnexUsageStore` implements it over PostgreSQL and
 * `FakeUsageStore` in memory; both pass test/contract/usage-store.contract.ts. Readings are
 * not audited (they are observations, not changes anyone made), so a store has no unit of work:
 * `transacting` gives the same store inside a transaction the caller owns.
 *
 * Samples are kept at three resolutions: raw (every counters pass) for two days, hourly maxima
 * for five weeks, daily maxima for two years. Maxima, not averages: a chart of a quota should
 * never hide the peak that froze a volume.
 */
import type { Db } from '../db/database.js';
import type { Sample } from './forecast.js';
import { KnexUsageStore } from './knex-usage-store.js';
import type { Resolution } from './sample-retention.js';

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

/** How {@link UsageStore.recordReadings} may store a batch. */
export interface RecordOptions {
  /**
   * The readings are a whole page of active volumes, consecutive in PostgreSQL's id order (a
   * listing page): unchanged rows are left alone and one sweep row per 1,000 records when they
   * were read (see migration 20261201000600). Without it every row's `read_at` is written.
   */
  sweep?: boolean;
}

/** Resolutions of stored samples (the policy is shared with directory quotas' samples). */
export type { Resolution };

/** A stored sample and its resolution. */
export type StoredSample = Sample & { resolution: Resolution };

/** An active volume with a bucket, and the bytes its counters last read (null: never read). */
export interface StorageComparisonRow {
  volumeId: string;
  bucket: string;
  bytes: bigint | null;
}

/** Usage readings and samples. */
export interface UsageStore {
  /** The same store inside the caller's transaction (stores never open one). */
  transacting(trx: Db): UsageStore;
  /**
   * Stores readings: writes the latest per volume, and appends a raw sample when usage changed
   * or the last sample is an hour old (a still volume does not fill the history with copies). A
   * failure keeps the last good numbers and time and records why the new read failed. With
   * `sweep`, unchanged rows are not written; the page's sweep carries their age.
   */
  recordReadings(readings: readonly Reading[], opts?: RecordOptions): Promise<void>;
  /** The latest readings of the given volumes, by volume id (absent: never read). */
  latestReadings(volumeIds: readonly string[]): Promise<Map<string, StoredReading>>;
  /**
   * Samples of many volumes since `since`, thinned to at most one per hour (the latest of each
   * hour), oldest first: enough for a days-long trend, bounded however often counters are read.
   */
  hourlySamples(volumeIds: readonly string[], since: Date): Promise<Map<string, Sample[]>>;
  /** Samples of one volume in [since, until), oldest first, at most 5,000; all resolutions unless one is named. */
  listSamples(volumeId: string, since: Date, until: Date, resolution?: Resolution): Promise<StoredSample[]>;
  /**
   * Folds old raw samples into hourly maxima and old hourly ones into daily maxima, prunes the
   * oldest daily ones, and folds sweeps no pass renewed for an hour into their rows. Idempotent:
   * re-folding a bucket takes the max with what is already there.
   */
  downsample(now: Date): Promise<{ folded: number; pruned: number }>;
  /** Every active volume with a bucket and its last counted bytes: what the reconcile pass compares with SeaweedFS. */
  storageComparison(): Promise<StorageComparisonRow[]>;
  /** Stores what a volume's bucket holds beside its counters (the metadata reading is left alone). */
  recordStorageUsage(volumeId: string, u: { bytes: bigint; objects: bigint }, at: Date): Promise<void>;
}

// The free functions below predate the store and are what tests and scripts call with a
// database of their own; they run the knex store's SQL.

/** Stores readings (see {@link UsageStore.recordReadings}). */
export function recordReadings(db: Db, readings: readonly Reading[], opts: RecordOptions = {}): Promise<void> {
  return new KnexUsageStore(db).recordReadings(readings, opts);
}

/** The latest readings of the given volumes, by volume id. */
export function latestReadings(db: Db, volumeIds: readonly string[]): Promise<Map<string, StoredReading>> {
  return new KnexUsageStore(db).latestReadings(volumeIds);
}

/** Folds and prunes samples (see {@link UsageStore.downsample}). */
export function downsample(db: Db, now: Date): Promise<{ folded: number; pruned: number }> {
  return new KnexUsageStore(db).downsample(now);
}
