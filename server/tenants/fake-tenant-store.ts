/**
 * The in-memory {@link TenantStore} of unit tests. `transaction` snapshots the rows and audit
 * rows and puts them back when `fn` throws, so "a refused change writes nothing" holds here as
 * it does in PostgreSQL. Ids sort by code point (PostgreSQL sorts by the database's collation;
 * tenant slugs of letters and digits sort the same under both). Passes
 * test/contract/tenant-store.contract.ts.
 */
import { copyMap, fakeAudit, fakeTransaction, type FakeAuditRows } from '../lib/in-memory-transactions.js';
import type { NewTenant, Tenant, TenantPatch, TenantStore, TenantUnitOfWork } from './tenant-store.js';

/** {@link TenantStore} in memory. */
export class FakeTenantStore implements TenantStore {
  private rows = new Map<string, Tenant>();
  /** Audit rows written through a unit of work, in order. */
  audits: FakeAuditRows = [];
  /** Rows' clock (tests may move it). */
  now = () => new Date();

  async transaction<T>(fn: (uow: TenantUnitOfWork) => Promise<T>): Promise<T> {
    return fakeTransaction(
      this,
      () => ({ rows: copyMap(this.rows, (v) => ({ ...v })) }),
      () => fn(this.joined()),
    );
  }

  /** The outer transaction is the caller's: writes land at once and are not rolled back here. */
  joined(): TenantUnitOfWork {
    return { store: this, audit: fakeAudit(this) };
  }

  async insert(t: NewTenant): Promise<Tenant | undefined> {
    if (this.rows.has(t.id)) return undefined;
    // Only the columns: a caller's object may carry more (an API body), which a table would drop.
    const row: Tenant = { id: t.id, displayName: t.displayName, email: t.email, language: t.language, webhookUrl: t.webhookUrl, tier: t.tier, createdAt: this.now() };
    this.rows.set(t.id, row);
    return { ...row };
  }

  async find(tenantId: string): Promise<Tenant | undefined> {
    const r = this.rows.get(tenantId);
    return r && { ...r };
  }

  async update(tenantId: string, patch: TenantPatch): Promise<Tenant | undefined> {
    const r = this.rows.get(tenantId);
    if (!r) return undefined;
    for (const k of ['displayName', 'email', 'language', 'webhookUrl', 'tier'] as const) {
      if (patch[k] !== undefined) Object.assign(r, { [k]: patch[k] });
    }
    return { ...r };
  }

  async list(opts: { only?: readonly string[]; afterId?: string; limit: number }): Promise<Tenant[]> {
    return [...this.rows.values()]
      .filter((r) => (!opts.only || opts.only.includes(r.id)) && (!opts.afterId || r.id > opts.afterId))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, opts.limit)
      .map((r) => ({ ...r }));
  }
}
