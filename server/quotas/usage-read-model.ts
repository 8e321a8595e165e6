/**
 * What other features read of usage readings and samples inside their own transactions (a
 * freeze's "why", a notice's figures, a forecast's trend). Built over the usage store by the
 * composition root ({@link usageReadModel}), so a fake store gives a fake read model; writes go
 * through the usage service, and no feature outside `quotas/` imports the usage store itself.
 */
import type { Db } from '../db/database.js';
import type { Sample } from './forecast.js';
import { KnexUsageStore } from './knex-usage-store.js';
import type { StoredReading, UsageStore } from './usage-store.js';

export type { Reading, StoredReading } from './usage-store.js';

/** Readings and samples, read in the caller's transaction. */
export interface UsageReadModel {
  /** The latest reading of each of the volumes, by volume id (absent: never read). */
  latest(db: Db, volumeIds: readonly string[]): Promise<Map<string, StoredReading>>;
  /** Samples since `since`, at most one per hour per volume, oldest first. */
  hourly(db: Db, volumeIds: readonly string[], since: Date): Promise<Map<string, Sample[]>>;
}

/** The read model over a usage store, joining the caller's transaction. */
export function usageReadModel(store: Pick<UsageStore, 'transacting'>): UsageReadModel {
  return {
    latest: (db, volumeIds) => store.transacting(db).latestReadings(volumeIds),
    hourly: (db, volumeIds, since) => store.transacting(db).hourlySamples(volumeIds, since),
  };
}

/** The read model over PostgreSQL, for callers built without a store at hand (tests, scripts). */
export const knexUsageReadModel: UsageReadModel = usageReadModel({ transacting: (db) => new KnexUsageStore(db) });
