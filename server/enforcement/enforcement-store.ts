/**
 * The store of enforcement states (`enforcement_states`, one row per volume: the decision, its
 * numbers and the desired state of each layer) and their transitions (`enforcement_transitions`).
 * `KnexEnforcementStore` implements it over PostgreSQL and `FakeEnforcementStore` in memory;
 * both pass test/contract/enforcement-store.contract.ts. Stores never open transactions: the
 * decisions run in transactions their callers own (a pass's, a grant's, an admin's), so
 * `transacting` gives the same store inside one, as the layer store does.
 */
import type { Db } from '../db/database.js';
import { KnexEnforcementStore } from './knex-enforcement-store.js';
import type { EnforcementState, Reason } from './policy.js';

/** What Headroom remembers about one volume's enforcement. */
export interface StateRow {
  volumeId: string;
  tenantId: string;
  state: EnforcementState;
  reason: Reason;
  since: Date;
  graceDeadline: Date | null;
  bytes: bigint | null;
  inodes: bigint | null;
  readAt: Date | null;
  unknownReason: string | null;
  unknownSince: Date | null;
  manual: { reason: string; until: Date | null; by: string; at: Date } | null;
  /**
   * What the volume's JuiceFS setting should say (Capacity/Inodes, 0 = unlimited): the desired
   * state of the metadata layer, carried out by the applier after the decision commits.
   */
  desiredCapacity: bigint | null;
  desiredInodes: bigint | null;
  /** Grows by one each time the desired Capacity/Inodes change (the applier never goes back). */
  metadataGeneration: bigint;
  evaluatedAt: Date | null;
  /** Whether Headroom's read-only rule for the volume's objects should be in SeaweedFS. */
  storageDesired: boolean;
  /** Grows by one each time {@link storageDesired} changes. */
  storageGeneration: bigint;
  /** Written only by {@link markForecastChecked}; {@link saveState} leaves it alone. */
  forecastCheckedAt: Date | null;
}

/** The state of a volume Headroom has never evaluated. */
export function initialState(volumeId: string, tenantId: string, since: Date): StateRow {
  return {
    volumeId,
    tenantId,
    state: 'ok',
    reason: 'within_limits',
    since,
    graceDeadline: null,
    bytes: null,
    inodes: null,
    readAt: null,
    unknownReason: null,
    unknownSince: null,
    manual: null,
    desiredCapacity: null,
    desiredInodes: null,
    metadataGeneration: 0n,
    evaluatedAt: null,
    storageDesired: false,
    storageGeneration: 0n,
    forecastCheckedAt: null,
  };
}

/**
 * The version of a row as a versioned load reports it: the transaction that wrote it and a hash of
 * its whole text. Any write gives a row a new `xmin`; the hash is there so that even a reused
 * transaction id (wraparound, a restored database) cannot pass an edited row off as unchanged.
 */
export const ROW_VERSION = (alias: string) => `${alias}.xmin::text || '/' || hashtextextended(${alias}::text, 0)::text`;

/** The rows a caller holds, by key, and the version of each (same order). */
export interface KnownVersions {
  keys: string[];
  versions: string[];
}

/**
 * A versioned load's answer: the rows whose version differs from the one the caller holds (or
 * that it holds none of), and how many of the rows it holds are still there at that version.
 */
export interface VersionedRows<T> {
  changed: Map<string, { version: string; row: T }>;
  unchanged: number;
}

/**
 * Carries `prev`'s generations into `next`, one higher for each layer whose desired value
 * changed: the caller holds `prev` locked, so generations of one volume never collide.
 */
export function withGenerations(prev: StateRow, next: StateRow): StateRow {
  const metaChanged = prev.desiredCapacity !== next.desiredCapacity || prev.desiredInodes !== next.desiredInodes;
  const storageChanged = prev.storageDesired !== next.storageDesired;
  return {
    ...next,
    metadataGeneration: prev.metadataGeneration + (metaChanged ? 1n : 0n),
    storageGeneration: prev.storageGeneration + (storageChanged ? 1n : 0n),
  };
}

/** One recorded transition. */
export interface Transition {
  id: string;
  at: Date;
  from: string;
  to: string;
  reason: string;
  bytes: bigint | null;
  inodes: bigint | null;
  limits: Record<string, unknown>;
  actor: string;
  detail: string | null;
}

/** Enforcement states and transitions. */
export interface EnforcementStore {
  /** The same store inside the caller's transaction (stores never open one). */
  transacting(trx: Db): EnforcementStore;
  /** The states of many volumes, by volume id (absent = never evaluated). */
  loadStates(volumeIds: readonly string[]): Promise<Map<string, StateRow>>;
  /**
   * The states of a page of volumes, read against the versions the caller holds (`known`, by
   * volume id): only the rows whose version differs (or that the caller holds none of) come
   * back, with how many held rows are unchanged. A caller that keeps rows between passes is
   * exactly as fresh as one that reads them all.
   */
  loadStatesVersioned(volumeIds: readonly string[], known: KnownVersions): Promise<VersionedRows<StateRow>>;
  /**
   * One volume's state. `forUpdate` locks it (FOR NO KEY UPDATE) until the caller commits: it
   * serialises the scheduler and admins, while inserts referencing it never wait on it.
   */
  findState(volumeId: string, opts?: { forUpdate?: boolean }): Promise<StateRow | undefined>;
  /**
   * Creates the row (`ok`, `within_limits`, since now) if missing, so the next locking
   * {@link findState} has a row to lock: two first-time writers serialise instead of racing.
   */
  ensureState(volumeId: string, tenantId: string): Promise<void>;
  /**
   * The first state of a volume that became active: `ok`, desiring the JuiceFS limits the
   * setting holds at generation 0 (counted as applied); a no-op when the volume has a state.
   */
  seedState(volumeId: string, tenantId: string, applied: { capacity: bigint; inodes: bigint }): Promise<void>;
  /** Writes the whole state row (all but `forecastCheckedAt`, which it leaves alone). */
  saveState(s: StateRow): Promise<void>;
  /** Sets the desired storage rule (purge: never frozen again), one generation up when it changes; no row, no-op. */
  setStorageDesired(volumeId: string, frozen: boolean): Promise<void>;
  /** Records that the forecasts of these volumes were checked at `at` (a missing state is created `ok`). */
  markForecastChecked(volumes: readonly { volumeId: string; tenantId: string }[], at: Date): Promise<void>;
  /** Volumes per state, and `unknown`: how many have an unknown reason (for metrics). */
  countByState(): Promise<Record<string, number>>;
  /** Appends a transition (the store stamps its id, increasing, and `at`). */
  insertTransition(volumeId: string, tenantId: string, t: Omit<Transition, 'id' | 'at'>): Promise<void>;
  /** The latest transitions of a volume, newest first. */
  listTransitions(volumeId: string, limit: number): Promise<Transition[]>;
}

// The free functions below predate the store and are what tests and scripts call with a
// database of their own; they run the knex store's SQL.

/** One volume's state (see {@link EnforcementStore.findState}). */
export function findState(db: Db, volumeId: string, opts: { forUpdate?: boolean } = {}): Promise<StateRow | undefined> {
  return new KnexEnforcementStore(db).findState(volumeId, opts);
}

/** A versioned load of a page of states (see {@link EnforcementStore.loadStatesVersioned}). */
export function loadStatesVersioned(db: Db, volumeIds: readonly string[], known: KnownVersions): Promise<VersionedRows<StateRow>> {
  return new KnexEnforcementStore(db).loadStatesVersioned(volumeIds, known);
}

/** Records that the forecasts of these volumes were checked at `at`. */
export function markForecastChecked(db: Db, volumes: { volumeId: string; tenantId: string }[], at: Date): Promise<void> {
  return new KnexEnforcementStore(db).markForecastChecked(volumes, at);
}
