/**
 * The store of walks (`walks`) and their per-directory results (`directory_usage`).
 * `KnexWalkStore` implements it over PostgreSQL and `FakeWalkStore` in memory; both pass
 * test/contract/walk-store.contract.ts. Stores never open transactions on their own:
 * `transaction` hands the use case a store bound to one, the audit writer of that same
 * transaction, and the transaction itself, which a walk's success hands to its listener
 * (insights, directory-quota walks) so their rows commit with the walk's.
 */
import type { Knex } from 'knex';
import type { Actor, AuditInput } from '../audit/audit-log.js';
import type { Db } from '../db/database.js';
import type { DirectoryUsage } from '../meta/volume-metadata.js';

/** States of a walk. */
export type WalkState = 'queued' | 'running' | 'succeeded' | 'failed';

/** One directory walk of a volume. */
export interface Walk {
  id: string;
  volumeId: string;
  tenantId: string;
  state: WalkState;
  requestedBy: string;
  keysRead: number;
  result: Record<string, unknown> | null;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A walk as requested (always `queued`; the store stamps `createdAt`). */
export type NewWalk = Pick<Walk, 'id' | 'volumeId' | 'tenantId' | 'requestedBy'>;

/**
 * A walk's change; absent fields stay. `started` and `finished` stamp `startedAt` and
 * `finishedAt` with the store's clock. `result` is stored as JSON (bigints as strings first).
 */
export type WalkPatch = Partial<{ state: WalkState; keysRead: number; result: Record<string, unknown>; error: string; started: boolean; finished: boolean }>;

/** Sort keys offered by the directories endpoint. */
export type DirectorySort = 'bytes' | 'inodes' | 'logicalBytes';

/** What {@link WalkStore.topDirectories} returns: which directories, how many, largest first by `sort`. */
export interface DirectoryQuery {
  maxDepth: number;
  limit: number;
  sort: DirectorySort;
}

/** The latest successful walk of a volume: when it finished and what it found. */
export interface LatestWalk {
  walkId: string;
  finishedAt: Date;
  result: Record<string, unknown>;
}

/**
 * What one transaction of a walk use case sees. A transaction the store opened carries a
 * `Knex.Transaction` (what the walk listener writes in); a joined one, the caller's handle.
 */
export interface WalkUnitOfWork<Trx extends Db = Db> {
  store: WalkStore;
  /** Appends an audit row in this transaction. */
  audit(actor: Actor, e: AuditInput): Promise<void>;
  /** The transaction, for the walk listener (insights, directory-quota walks) to write in. */
  trx: Trx;
}

/** Walk rows and their directories. */
export interface WalkStore {
  /** Runs `fn` in one transaction; a throw rolls back every write, audit rows included. */
  transaction<T>(fn: (uow: WalkUnitOfWork<Knex.Transaction>) => Promise<T>): Promise<T>;
  /** The unit of work of a transaction another feature opened and owns: the caller commits or rolls back. */
  joined(trx: Db): WalkUnitOfWork;
  /**
   * Inserts a queued walk; undefined when the volume already has one queued or running (no
   * exception, so no aborted transaction: at most one walk of a volume at a time).
   */
  insert(w: NewWalk): Promise<Walk | undefined>;
  /** The volume's queued or running walk, if any. */
  findActive(tenantId: string, volumeId: string): Promise<Walk | undefined>;
  /** One walk of a volume. */
  find(tenantId: string, volumeId: string, walkId: string): Promise<Walk | undefined>;
  /** The volume's successful walk that finished last. */
  latestSucceeded(tenantId: string, volumeId: string): Promise<Walk | undefined>;
  /** Changes a walk's state and progress fields (no such walk: nothing happens). */
  update(walkId: string, patch: WalkPatch): Promise<void>;
  /** Marks every queued or running walk failed with `error`, finished now; how many it marked. */
  failActive(error: string): Promise<number>;
  /** Stores a walk's directories (their walk figures; profiles are not kept). */
  insertDirectories(walkId: string, dirs: readonly DirectoryUsage[]): Promise<void>;
  /** A walk's largest directories down to `maxDepth`, trash excluded, ties by path. */
  topDirectories(walkId: string, q: DirectoryQuery): Promise<DirectoryUsage[]>;
  /** The latest successful walk of each of the volumes, by volume id (volumes never walked are absent). */
  latest(volumeIds: readonly string[]): Promise<Map<string, LatestWalk>>;
}
