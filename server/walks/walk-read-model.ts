/**
 * What other features read of walks inside their own transactions: the latest successful walk
 * of a volume and its largest directories (a notice names them, "why" shows when usage was last
 * walked). Built over the walk store by the composition root ({@link walkReadModel}), so a fake
 * store gives a fake read model; no feature outside `walks/` imports the walk store itself.
 */
import type { Db } from '../db/database.js';
import type { DirectoryUsage } from '../meta/volume-metadata.js';
import { KnexWalkStore } from './knex-walk-store.js';
import type { DirectoryQuery, LatestWalk, WalkStore } from './walk-store.js';

export type { LatestWalk } from './walk-store.js';

/** Walks, read in the caller's transaction. */
export interface WalkReadModel {
  /** The latest successful walk of each of the volumes, by volume id. */
  latest(db: Db, volumeIds: readonly string[]): Promise<Map<string, LatestWalk>>;
  /** A walk's largest directories down to `maxDepth`, trash excluded. */
  topDirectories(db: Db, walkId: string, opts: DirectoryQuery): Promise<DirectoryUsage[]>;
}

/** The read model over a walk store, joining the caller's transaction. */
export function walkReadModel(store: Pick<WalkStore, 'joined'>): WalkReadModel {
  return {
    latest: (db, volumeIds) => store.joined(db).store.latest(volumeIds),
    topDirectories: (db, walkId, opts) => store.joined(db).store.topDirectories(walkId, opts),
  };
}

/** The read model over PostgreSQL, for callers built without a store at hand (tests, scripts). */
export const knexWalkReadModel: WalkReadModel = walkReadModel({ joined: (db) => new KnexWalkStore(db).joined(db) });
