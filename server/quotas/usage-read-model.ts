/**
 * What other features read of usage readings and samples inside their own transactions (a
 * freeze's "why", a notice's figures, a forecast's trend). The composition root injects
 * {@link knexUsageReadModel}; writes go through the usage service.
 */
import type { Db } from '../db/database.js';
import type { Sample } from './forecast.js';
import { hourlySamples, latestReadings, type StoredReading } from './usage-store.js';

export type { Reading, StoredReading } from './usage-store.js';

/** Readings and samples, read in the caller's transaction. */
export interface UsageReadModel {
  /** The latest reading of each of the volumes, by volume id (absent: never read). */
  latest(db: Db, volumeIds: readonly string[]): Promise<Map<string, StoredReading>>;
  /** Samples since `since`, at most one per hour per volume, oldest first. */
  hourly(db: Db, volumeIds: readonly string[], since: Date): Promise<Map<string, Sample[]>>;
}

/** The read model over PostgreSQL. */
export const knexUsageReadModel: UsageReadModel = { latest: latestReadings, hourly: hourlySamples };
