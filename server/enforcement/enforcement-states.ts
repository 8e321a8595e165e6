/**
 * What other features read and seed of a volume's enforcement state inside their own
 * transactions: a grant or the storage reconciler reads the state it acts on; onboarding seeds
 * the state of a new volume with the limits its format wrote. Built over the enforcement store
 * by the composition root ({@link enforcementStates}), so a fake store gives a fake read model;
 * everything else about enforcement goes through its service, and no feature outside
 * `enforcement/` imports the enforcement store itself.
 */
import type { Db } from '../db/database.js';
import { initialState, type EnforcementStore, type StateRow } from './enforcement-store.js';
import { KnexEnforcementStore } from './knex-enforcement-store.js';

export type { StateRow } from './enforcement-store.js';

/** Enforcement states, read and seeded in the caller's transaction. */
export interface EnforcementStates {
  /** The state of a volume, or the state of one never evaluated (`since` = `sinceIfNew`). */
  current(db: Db, volume: { id: string; tenantId: string }, sinceIfNew: Date, opts?: { forUpdate?: boolean }): Promise<StateRow>;
  /** The stored state, if any; `forUpdate` locks it until the caller commits. */
  find(db: Db, volumeId: string, opts?: { forUpdate?: boolean }): Promise<StateRow | undefined>;
  /** Creates the first state of a volume whose JuiceFS setting holds `applied` (counted as applied, so the first pass does not rewrite it); a no-op when the volume has one. */
  seed(db: Db, volumeId: string, tenantId: string, applied: { capacity: bigint; inodes: bigint }): Promise<void>;
}

/** The read model over an enforcement store, joining the caller's transaction. */
export function enforcementStates(store: Pick<EnforcementStore, 'transacting'>): EnforcementStates {
  return {
    current: async (db, v, since, opts) => (await store.transacting(db).findState(v.id, opts)) ?? initialState(v.id, v.tenantId, since),
    find: (db, volumeId, opts) => store.transacting(db).findState(volumeId, opts),
    seed: (db, volumeId, tenantId, applied) => store.transacting(db).seedState(volumeId, tenantId, applied),
  };
}

/** The read model over PostgreSQL, for callers built without a store at hand (tests, scripts). */
export const knexEnforcementStates: EnforcementStates = enforcementStates({ transacting: (db) => new KnexEnforcementStore(db) });
