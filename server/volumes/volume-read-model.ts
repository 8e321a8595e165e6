/**
 * What other features read of volumes inside their own transactions (a freeze locks the volume
 * it decides on, a grant the volume it changes). Built over the volume store by the composition
 * root ({@link volumeReadModel}), so a fake store gives a fake read model; no feature outside
 * `volumes/` imports the volume store itself.
 */
import type { Db } from '../db/database.js';
import { KnexVolumeStore } from './knex-volume-store.js';
import type { Volume } from './volume.js';
import type { VolumeStore } from './volume-store.js';

/** Volume rows, read in the caller's transaction. */
export interface VolumeReadModel {
  /**
   * A volume by id. Callers hold the id from a row of their own (a state, a request), so the
   * tenant is not asked; `forUpdate` locks the row (FOR NO KEY UPDATE) until the caller commits.
   */
  find(db: Db, volumeId: string, opts?: { forUpdate?: boolean }): Promise<Volume | undefined>;
}

/** The read model over a volume store, joining the caller's transaction. */
export function volumeReadModel(store: Pick<VolumeStore, 'joined'>): VolumeReadModel {
  return { find: (db, volumeId, opts) => store.joined(db).store.find(volumeId, opts) };
}

/** The read model over PostgreSQL, for callers built without a store at hand (tests, scripts). */
export const knexVolumeReadModel: VolumeReadModel = { find: (db, volumeId, opts) => new KnexVolumeStore(db).find(volumeId, opts) };
