/**
 * What other features read and seed of a volume's enforcement state inside their own
 * transactions: a grant or the storage reconciler reads the state it acts on; onboarding seeds
 * the state of a new volume with the limits its format wrote. The composition root injects
 * {@link knexEnforcementStates}; everything else about enforcement goes through its service.
 */
import type { Db } from '../db/database.js';
import { findState, initialState, seedState, type StateRow } from './enforcement-store.js';

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

/** The port over PostgreSQL. */
export const knexEnforcementStates: EnforcementStates = {
  current: async (db, v, since, opts) => (await findState(db, v.id, opts)) ?? initialState(v.id, v.tenantId, since),
  find: findState,
  seed: seedState,
};
