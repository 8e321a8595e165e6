/**
 * The store of directory quotas: one row per (volume, directory inode). `KnexDirectoryQuotaStore`
 * implements it over PostgreSQL and `FakeDirectoryQuotaStore` in memory; both pass
 * test/contract/directory-quota-store.contract.ts. Every method but `pending` is scoped by tenant
 * (a pass's `enforceable` and `downsampleSamples` span all tenants; a sample carries its own).
 * Stores never open transactions on their own: `transaction` hands the use case a store bound to
 * one, plus the audit writer of that same transaction.
 */
import type { Actor, AuditInput } from '../audit/audit-log.js';
import type { Db } from '../db/database.js';
import type { NewNotice } from '../notifications/notice.js';
import type { Sample } from '../quotas/forecast.js';
import type { Resolution } from '../quotas/sample-retention.js';
import type { Quota } from '../volumes/volume.js';
import type { DirectoryQuota, DirectoryQuotaEnforcement, DirectoryQuotaState, NewDirectoryQuota, ObservedLimits, QuotaKind } from './directory-quota.js';

/** Raised by `insert` when the volume already has a quota on that inode. */
export class DirectoryQuotaExistsError extends Error {
  constructor(
    readonly volumeId: string,
    readonly inode: bigint,
  ) {
    super(`volume ${volumeId} already has a directory quota on inode ${inode}`);
    this.name = 'DirectoryQuotaExistsError';
  }
}

/** What a change may touch; any change bumps the generation when `bump` is set. */
export interface DirectoryQuotaPatch {
  quota?: Quota;
  ownerSub?: string | null;
  managed?: boolean;
  state?: DirectoryQuotaState;
  enforcement?: DirectoryQuotaEnforcement;
  /** The change alters what JuiceFS should hold: the generation grows. */
  bump?: boolean;
}

/** A quota's usage as a pass read it, to be kept as a raw sample. */
export interface NewDirectoryQuotaSample {
  quotaId: string;
  tenantId: string;
  at: Date;
  bytes: bigint;
  inodes: bigint;
}

/** A stored sample: raw, or an hourly or daily maximum. */
export type DirectoryQuotaSample = Sample & { resolution: Resolution };

/** What one transaction of a use case sees. */
export interface DirectoryQuotaUnitOfWork {
  store: DirectoryQuotaStore;
  /** Appends an audit row in this transaction. */
  audit(actor: Actor, e: AuditInput): Promise<void>;
  /** Enqueues a notice in this transaction (the outbox: delivered after commit, never twice per event key). */
  notify(n: NewNotice): Promise<void>;
}

/** Directory quota rows. */
export interface DirectoryQuotaStore {
  /** Runs `fn` in one transaction; a throw rolls back every write, audit rows included. */
  transaction<T>(fn: (uow: DirectoryQuotaUnitOfWork) => Promise<T>): Promise<T>;
  /**
   * The unit of work of a transaction another feature opened and owns (a quota request's grant
   * commits with the request row): the caller commits or rolls back, never this store.
   */
  joined(trx: Db): DirectoryQuotaUnitOfWork;
  /** Inserts a row; {@link DirectoryQuotaExistsError} when (volume, inode) is taken. */
  insert(q: NewDirectoryQuota): Promise<DirectoryQuota>;
  find(tenantId: string, id: string, opts?: { forUpdate?: boolean }): Promise<DirectoryQuota | undefined>;
  /** The quota of a directory inode (or, with `kind`, of a uid/gid). */
  findByInode(tenantId: string, volumeId: string, inode: bigint, kind?: QuotaKind): Promise<DirectoryQuota | undefined>;
  /** A volume's quotas of one kind (default `dir`) by id; `ownerSub` keeps only that owner's. */
  list(tenantId: string, volumeId: string, opts: { ownerSub?: string; afterId?: string; limit: number; kind?: QuotaKind }): Promise<DirectoryQuota[]>;
  /** Changes a row; undefined when it does not exist. */
  update(tenantId: string, id: string, patch: DirectoryQuotaPatch): Promise<DirectoryQuota | undefined>;
  /** Records a generation written to JuiceFS (never lowers the applied generation); false if stale or gone. */
  recordApplied(tenantId: string, id: string, generation: bigint, observed: ObservedLimits | null, at: Date): Promise<boolean>;
  recordApplyError(tenantId: string, id: string, error: string, at: Date): Promise<void>;
  remove(tenantId: string, id: string): Promise<boolean>;
  /** Rows whose JuiceFS record is behind (any tenant), oldest first: the reconcile pass's work. */
  pending(limit: number): Promise<DirectoryQuota[]>;
  /** Stores the latest walk's figures of a quota's subtree. */
  recordWalkUsage(tenantId: string, id: string, usage: { bytes: bigint; inodes: bigint; at: Date }): Promise<void>;
  /** Active, managed quotas of every tenant by id (native ones, and the others with soft limits): what a pass decides. */
  enforceable(page: { afterId?: string; limit: number }): Promise<DirectoryQuota[]>;
  /**
   * Appends raw samples, as volumes' are kept: a quota's only when its bytes or inodes differ
   * from its latest raw sample or that one is over an hour older (a still directory does not
   * fill the history with copies). Samples of quotas gone or of another tenant are dropped, as is
   * a second one at the same instant. Returns how many were written.
   */
  recordSamples(samples: readonly NewDirectoryQuotaSample[]): Promise<number>;
  /** A quota's samples in [since, until), oldest first, at most 5,000; all resolutions unless one is named. */
  listSamples(tenantId: string, quotaId: string, window: { since: Date; until: Date; resolution?: Resolution }): Promise<DirectoryQuotaSample[]>;
  /** Folds every tenant's old samples into hourly and daily maxima and prunes, by the volumes' policy (`downsampleCutoffs`); idempotent. */
  downsampleSamples(now: Date): Promise<{ folded: number; pruned: number }>;
}
