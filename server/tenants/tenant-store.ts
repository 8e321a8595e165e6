/**
 * The store of tenants: one row per tenant, keyed by its public slug. `KnexTenantStore`
 * implements it over PostgreSQL and `FakeTenantStore` in memory; both pass
 * test/contract/tenant-store.contract.ts. Stores never open transactions on their own:
 * `transaction` hands the use case a store bound to one, plus the audit writer of that same
 * transaction, so a change and its audit row commit or roll back together.
 */
import type { Actor, AuditInput } from '../audit/audit-log.js';
import type { Db } from '../db/database.js';

/** A tenant: a user or team that owns volumes. */
export interface Tenant {
  id: string;
  displayName: string;
  email: string;
  /** Language of the tenant's notices. */
  language: 'en' | 'zh';
  /** Where the tenant's notices are POSTed, if anywhere. */
  webhookUrl: string | null;
  /** Tier whose auto-approval rules apply to the tenant's quota requests. */
  tier: string;
  createdAt: Date;
}

/** A tenant as inserted (the store stamps `createdAt`). */
export type NewTenant = Omit<Tenant, 'createdAt'>;

/** What a change may touch; `undefined` leaves a field alone, `webhookUrl: null` removes it. */
export type TenantPatch = Partial<Pick<Tenant, 'displayName' | 'email' | 'language' | 'webhookUrl' | 'tier'>>;

/** What one transaction of a tenant use case sees. */
export interface TenantUnitOfWork {
  store: TenantStore;
  /** Appends an audit row in this transaction. */
  audit(actor: Actor, e: AuditInput): Promise<void>;
}

/** Tenant rows. */
export interface TenantStore {
  /** Runs `fn` in one transaction; a throw rolls back every write, audit rows included. */
  transaction<T>(fn: (uow: TenantUnitOfWork) => Promise<T>): Promise<T>;
  /** The unit of work of a transaction another feature opened and owns: the caller commits or rolls back. */
  joined(trx: Db): TenantUnitOfWork;
  /** Inserts a tenant; undefined when the id is already taken (no exception, so no aborted transaction). */
  insert(t: NewTenant): Promise<Tenant | undefined>;
  /**
   * One tenant by id. `forUpdate` locks the row for the rest of the transaction (FOR NO KEY
   * UPDATE: rows referencing the tenant can still be inserted meanwhile).
   */
  find(tenantId: string, opts?: { forUpdate?: boolean }): Promise<Tenant | undefined>;
  /** Changes some details; the new image, or undefined when there is no such tenant. */
  update(tenantId: string, patch: TenantPatch): Promise<Tenant | undefined>;
  /** A page of tenants ordered by id, optionally limited to the `only` ids. */
  list(opts: { only?: readonly string[]; afterId?: string; limit: number }): Promise<Tenant[]>;
}
