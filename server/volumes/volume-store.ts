/**
 * The store of volumes: the `volumes` rows and the two ledgers a volume claims from, metadata
 * prefixes (`volume_prefixes`, never reused) and Redis databases (`redis_databases`, never
 * reused). `KnexVolumeStore` implements it over PostgreSQL and `FakeVolumeStore` in memory; both
 * pass test/contract/volume-store.contract.ts. Stores never open transactions on their own:
 * `transaction` hands the use case a store bound to one, the audit writer of that same
 * transaction, and the transaction itself for the read models of other features it calls.
 */
import type { Actor, AuditInput } from '../audit/audit-log.js';
import type { Db } from '../db/database.js';
import { KnexVolumeStore } from './knex-volume-store.js';
import type { EngineKind, Quota, Volume, VolumeState } from './volume.js';

/** Fields needed to insert a volume. */
export interface NewVolume {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  engine: EngineKind;
  metaUrl: string;
  quota: Quota;
  storage?: Volume['storage'];
  requestHash: string;
}

/** Filters for {@link VolumeStore.list}; `tenantIds` undefined = all tenants. */
export interface VolumeFilter {
  tenantIds?: readonly string[];
  state?: VolumeState;
  afterId?: string;
  limit: number;
}

/** What one transaction of a volume use case sees. */
export interface VolumeUnitOfWork {
  store: VolumeStore;
  /** Appends an audit row in this transaction. */
  audit(actor: Actor, e: AuditInput): Promise<void>;
  /** The transaction, for other features' read models (the owner, the first enforcement state) to join. */
  trx: Db;
}

/** Volume rows and their ledgers. */
export interface VolumeStore {
  /** Runs `fn` in one transaction; a throw rolls back every write, audit rows included. */
  transaction<T>(fn: (uow: VolumeUnitOfWork) => Promise<T>): Promise<T>;
  /** The unit of work of a transaction another feature opened and owns: the caller commits or rolls back. */
  joined(trx: Db): VolumeUnitOfWork;
  /**
   * Inserts a volume in state `provisioning` (its prefix claimed first). A second live volume of
   * the tenant with the same name throws the unique violation of `volumes_tenant_name_live`.
   */
  insert(v: NewVolume): Promise<Volume>;
  /** The tenant's live (not deleting or purged) volume called `name`. */
  findLiveByName(tenantId: string, name: string): Promise<Volume | undefined>;
  /** A volume by id; `forUpdate` locks the row (FOR NO KEY UPDATE) for the rest of the transaction. */
  find(volumeId: string, opts?: { forUpdate?: boolean }): Promise<Volume | undefined>;
  /** A page of volumes in id (creation) order. */
  list(f: VolumeFilter): Promise<Volume[]>;
  /** The buckets of a tenant's provisioning and active volumes, sorted: what its storage identity may reach. */
  liveBuckets(tenantId: string): Promise<string[]>;
  /** Moves a volume to `state` (with an optional detail) and returns the new image. */
  setState(volumeId: string, state: VolumeState, detail?: string | null): Promise<Volume>;
  /** Replaces a volume's limits (grace unchanged) and returns the new image. */
  updateQuota(volumeId: string, q: Omit<Quota, 'graceSeconds'>): Promise<Volume>;
  /** Claims a prefix for `volumeId`; false when it was ever claimed before (retired ones included). */
  claimPrefix(prefix: string, volumeId: string): Promise<boolean>;
  /** Marks a prefix retired; it stays claimed, so it can never be given again. */
  retirePrefix(prefix: string): Promise<void>;
  /** Claims the lowest database of `pool` on `server` never given before; undefined when none was free (or a race took it). */
  claimFreeRedisDb(server: string, pool: readonly number[], volumeId: string): Promise<number | undefined>;
  /** How many databases of `pool` on `server` were ever given. */
  countRedisDbs(server: string, pool: readonly number[]): Promise<number>;
  /** Claims one given database (adoption); false when it was given before. */
  claimRedisDb(server: string, dbNumber: number, volumeId: string): Promise<boolean>;
}

// The free functions below predate the store; scripts and tests that seed volumes in a
// transaction of their own still call them. They run the knex store's SQL.

/** Inserts a volume in state `provisioning`. */
export function insertVolume(db: Db, v: NewVolume): Promise<Volume> {
  return new KnexVolumeStore(db).insert(v);
}

/** Finds a volume by id, optionally locking the row for update. */
export function findVolume(db: Db, volumeId: string, opts: { forUpdate?: boolean } = {}): Promise<Volume | undefined> {
  return new KnexVolumeStore(db).find(volumeId, opts);
}

/** Moves a volume to `state` (with an optional detail) and returns the new image. */
export function setVolumeState(db: Db, volumeId: string, state: VolumeState, detail: string | null = null): Promise<Volume> {
  return new KnexVolumeStore(db).setState(volumeId, state, detail);
}
