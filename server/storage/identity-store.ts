/**
 * The store of tenants' storage identities: one row per tenant, its SeaweedFS identity name and
 * its current key, the secret sealed (never stored plain). `KnexIdentityStore` implements it over
 * PostgreSQL and `FakeIdentityStore` in memory; both pass
 * test/contract/identity-store.contract.ts. Stores never open transactions on their own:
 * `transaction` hands a use case a store bound to one, plus the audit writer of that same
 * transaction.
 */
import type { Actor, AuditInput } from '../audit/audit-log.js';
import type { Db } from '../db/database.js';

/** A tenant's storage identity as stored (`accessKey` and `secretEnc`: its current key). */
export interface StoredIdentity {
  tenantId: string;
  name: string;
  accessKey: string;
  secretEnc: string;
  createdAt: Date;
}

/** An identity as inserted (the store stamps `createdAt`). */
export type NewIdentity = Omit<StoredIdentity, 'createdAt'>;

/** What one transaction of a storage-key use case sees. */
export interface IdentityUnitOfWork {
  store: IdentityStore;
  /** Appends an audit row in this transaction. */
  audit(actor: Actor, e: AuditInput): Promise<void>;
  /** The transaction, for other features' read models (the tenant) to join. */
  trx: Db;
}

/** Storage identity rows. */
export interface IdentityStore {
  /** Runs `fn` in one transaction; a throw rolls back every write, audit rows included. */
  transaction<T>(fn: (uow: IdentityUnitOfWork) => Promise<T>): Promise<T>;
  /** The unit of work of a transaction another feature opened and owns: the caller commits or rolls back. */
  joined(trx: Db): IdentityUnitOfWork;
  /** The tenant's identity, if it has one; `forUpdate` locks the row for a key change. */
  find(tenantId: string, opts?: { forUpdate?: boolean }): Promise<StoredIdentity | undefined>;
  /** Records an identity unless the tenant has one; true when this call recorded it (no exception, no abort). */
  insert(i: NewIdentity): Promise<boolean>;
  /** Replaces the tenant's current key (the previous one stays in SeaweedFS until revoked). */
  updateKey(tenantId: string, accessKey: string, secretEnc: string): Promise<void>;
  /** Identities whose current access key starts with `prefix` (the rotated ones), by tenant. */
  withKeyPrefix(prefix: string): Promise<StoredIdentity[]>;
  /** Every sealed secret by tenant, for re-sealing under a new master key (`npm run rekey`). */
  sealedSecrets(): Promise<{ tenantId: string; secretEnc: string }[]>;
  /** Replaces one sealed secret if it is still `expected` (a concurrent rotation wins); true when replaced. */
  reseal(tenantId: string, expected: string, secretEnc: string): Promise<boolean>;
}

/**
 * Buckets of the tenant's live volumes (what its keys may reach): not failed, not being deleted,
 * by name. A read of the volumes feature's rows, injected by the composition root.
 */
export type TenantBuckets = (tenantId: string) => Promise<string[]>;
