/**
 * The in-memory {@link IdentityStore} of unit tests. `transaction` snapshots the rows and audit
 * rows and puts them back when `fn` throws, as PostgreSQL's rollback would. Tenant ids sort by
 * code point (the same as PostgreSQL's for slugs of letters and digits). Passes
 * test/contract/identity-store.contract.ts.
 */
import type { Db } from '../db/database.js';
import { copyMap, FAKE_TRX, fakeAudit, fakeTransaction, type FakeAuditRows } from '../lib/in-memory-transactions.js';
import type { IdentityStore, IdentityUnitOfWork, NewIdentity, StoredIdentity } from './identity-store.js';

/** {@link IdentityStore} in memory. */
export class FakeIdentityStore implements IdentityStore {
  private rows = new Map<string, StoredIdentity>();
  /** Audit rows written through a unit of work, in order. */
  audits: FakeAuditRows = [];
  /** Rows' clock (tests may move it). */
  now = () => new Date();

  async transaction<T>(fn: (uow: IdentityUnitOfWork) => Promise<T>): Promise<T> {
    return fakeTransaction(
      this,
      () => ({ rows: copyMap(this.rows, (v) => ({ ...v })) }),
      () => fn(this.joined(FAKE_TRX)),
    );
  }

  /** The outer transaction is the caller's: writes land at once and are not rolled back here. */
  joined(trx: Db = FAKE_TRX): IdentityUnitOfWork {
    return { store: this, audit: fakeAudit(this), trx };
  }

  private sorted(): StoredIdentity[] {
    return [...this.rows.values()].sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1));
  }

  async find(tenantId: string): Promise<StoredIdentity | undefined> {
    const r = this.rows.get(tenantId);
    return r && { ...r };
  }

  async insert(i: NewIdentity): Promise<boolean> {
    // The table's unique names and access keys: a clash there would be an error, not a `false`.
    if (this.rows.has(i.tenantId)) return false;
    if (this.sorted().some((r) => r.name === i.name || r.accessKey === i.accessKey)) throw new Error('duplicate key value violates unique constraint');
    this.rows.set(i.tenantId, { tenantId: i.tenantId, name: i.name, accessKey: i.accessKey, secretEnc: i.secretEnc, createdAt: this.now() });
    return true;
  }

  async updateKey(tenantId: string, accessKey: string, secretEnc: string): Promise<void> {
    const r = this.rows.get(tenantId);
    if (r) Object.assign(r, { accessKey, secretEnc });
  }

  async withKeyPrefix(prefix: string): Promise<StoredIdentity[]> {
    return this.sorted()
      .filter((r) => r.accessKey.startsWith(prefix))
      .map((r) => ({ ...r }));
  }

  async sealedSecrets(): Promise<{ tenantId: string; secretEnc: string }[]> {
    return this.sorted().map((r) => ({ tenantId: r.tenantId, secretEnc: r.secretEnc }));
  }

  async reseal(tenantId: string, expected: string, secretEnc: string): Promise<boolean> {
    const r = this.rows.get(tenantId);
    if (!r || r.secretEnc !== expected) return false;
    r.secretEnc = secretEnc;
    return true;
  }
}
