/**
 * The store of quota requests (`quota_requests`): one row per request, for a volume's own quota
 * or for one directory quota of it. `KnexRequestStore` implements it over PostgreSQL and
 * `FakeRequestStore` in memory; both pass test/contract/request-store.contract.ts. Stores never
 * open transactions on their own: `transaction` hands the use case a store bound to one, the
 * audit writer of that same transaction, and the transaction itself for the other features a
 * decision changes in it (the quota, its enforcement decision, the notice). Tenant-scoped reads
 * take `tenantIds` (undefined = all).
 */
import type { Actor, AuditInput } from '../audit/audit-log.js';
import type { Db } from '../db/database.js';

/** Request states. */
export type RequestState = 'pending' | 'approved' | 'denied' | 'cancelled';

/** Limits as stored in JSON (decimal strings; absent = not asked / unchanged; null = unlimited). */
export type JsonLimits = Partial<Record<'softBytes' | 'hardBytes' | 'softInodes' | 'hardInodes', string | null>>;

/** One quota request. */
export interface QuotaRequest {
  id: string;
  volumeId: string;
  /** The directory quota asked about; null for the volume's own quota. */
  directoryQuotaId: string | null;
  /** The directory's bytes when the request was filed; null for a volume request. */
  directoryPath: Buffer | null;
  tenantId: string;
  requestedBy: string;
  state: RequestState;
  reason: string;
  requested: JsonLimits;
  granted: JsonLimits | null;
  previous: JsonLimits | null;
  until: Date | null;
  ruleId: string | null;
  explanation: string;
  decidedBy: string | null;
  decidedAt: Date | null;
  comment: string | null;
  revertedAt: Date | null;
  createdAt: Date;
}

/** A request as filed (always `pending`). */
export type NewRequest = Pick<QuotaRequest, 'id' | 'volumeId' | 'tenantId' | 'requestedBy' | 'reason' | 'requested' | 'until' | 'explanation'> &
  Partial<Pick<QuotaRequest, 'directoryQuotaId' | 'directoryPath'>>;

/** A decision's change; `decided` stamps `decidedAt` and `reverted` stamps `revertedAt` with the store's clock. */
export type RequestPatch = Partial<Pick<QuotaRequest, 'state' | 'granted' | 'previous' | 'until' | 'ruleId' | 'explanation' | 'decidedBy' | 'comment'>> & {
  decided?: boolean;
  reverted?: boolean;
};

/** Filters of {@link RequestStore.list}; newest first, `beforeId` pages backwards. */
export interface RequestFilter {
  tenantIds?: readonly string[];
  state?: RequestState;
  volumeId?: string;
  beforeId?: string;
  limit: number;
}

/** The unique indexes that allow one pending request per volume quota and per directory quota. */
export const ONE_PENDING_CONSTRAINTS = ['quota_requests_one_pending', 'quota_requests_one_pending_directory'] as const;

/** What one transaction of a request use case sees. */
export interface RequestUnitOfWork {
  store: RequestStore;
  /** Appends an audit row in this transaction. */
  audit(actor: Actor, e: AuditInput): Promise<void>;
  /** The transaction, for the features a decision changes in it (quotas, enforcement, notices). */
  trx: Db;
}

/** Quota request rows. */
export interface RequestStore {
  /** Runs `fn` in one transaction; a throw rolls back every write, audit rows included. */
  transaction<T>(fn: (uow: RequestUnitOfWork) => Promise<T>): Promise<T>;
  /** The unit of work of a transaction another feature opened and owns: the caller commits or rolls back. */
  joined(trx: Db): RequestUnitOfWork;
  /**
   * Inserts a pending request. A second pending one of the same target throws the unique
   * violation of one of {@link ONE_PENDING_CONSTRAINTS} (volume, directory quota).
   */
  insert(r: NewRequest): Promise<QuotaRequest>;
  /** One request of a visible tenant; `forUpdate` locks it (FOR NO KEY UPDATE) for the rest of the transaction. */
  find(tenantIds: readonly string[] | undefined, id: string, opts?: { forUpdate?: boolean }): Promise<QuotaRequest | undefined>;
  /** Changes a request's decision fields and returns the new image. */
  update(id: string, patch: RequestPatch): Promise<QuotaRequest>;
  /** A page of requests, newest (highest id) first. */
  list(f: RequestFilter): Promise<QuotaRequest[]>;
  /** The pending request of the volume's own quota (or, with `directoryQuotaId`, of that directory quota), if any. */
  pending(volumeId: string, directoryQuotaId?: string | null): Promise<QuotaRequest | undefined>;
  /** When the volume's own quota (or that directory quota) last had a request granted by a rule (for "once in N days" rules). */
  lastAutoApproval(volumeId: string, directoryQuotaId?: string | null): Promise<Date | null>;
  /** Approved temporary grants whose `until` is at or before `now` and that were not reverted yet, soonest first. */
  dueGrants(now: Date, limit?: number): Promise<QuotaRequest[]>;
}
