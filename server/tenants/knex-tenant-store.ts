/** The PostgreSQL {@link TenantStore} over the `tenants` table. Row mapping stays private to this file. */
import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit-log.js';
import { inTransaction, type Db } from '../db/database.js';
import type { NewTenant, Tenant, TenantPatch, TenantStore, TenantUnitOfWork } from './tenant-store.js';

interface TenantRow {
  id: string;
  display_name: string;
  email: string;
  language: 'en' | 'zh';
  webhook_url: string | null;
  tier: string;
  created_at: Date;
}

const fromRow = (r: TenantRow): Tenant => ({
  id: r.id,
  displayName: r.display_name,
  email: r.email,
  language: r.language,
  webhookUrl: r.webhook_url,
  tier: r.tier,
  createdAt: r.created_at,
});

/** {@link TenantStore} over PostgreSQL; `db` is the pool or, inside `transaction`, the transaction. */
export class KnexTenantStore implements TenantStore {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: (uow: TenantUnitOfWork) => Promise<T>): Promise<T> {
    return inTransaction(this.db as Knex, (trx) => fn(this.joined(trx)));
  }

  joined(trx: Db): TenantUnitOfWork {
    return { store: new KnexTenantStore(trx), audit: (actor, e) => recordAudit(trx, actor, e) };
  }

  async insert(t: NewTenant): Promise<Tenant | undefined> {
    const rows = (await this.db('tenants')
      .insert({ id: t.id, display_name: t.displayName, email: t.email, language: t.language, webhook_url: t.webhookUrl, tier: t.tier })
      .onConflict('id')
      .ignore()
      .returning('*')) as TenantRow[];
    return rows[0] && fromRow(rows[0]);
  }

  async find(tenantId: string, opts: { forUpdate?: boolean } = {}): Promise<Tenant | undefined> {
    const q = this.db('tenants').where({ id: tenantId }).first();
    // NO KEY UPDATE: the row changes, its key never does, so foreign-key checks of inserts that
    // reference it (transitions, notices, requests) do not wait on it, and cannot deadlock with it.
    if (opts.forUpdate) q.forNoKeyUpdate();
    const row = (await q) as TenantRow | undefined;
    return row && fromRow(row);
  }

  async update(tenantId: string, patch: TenantPatch): Promise<Tenant | undefined> {
    const rows = (await this.db('tenants')
      .where({ id: tenantId })
      .update({
        ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
        ...(patch.email !== undefined ? { email: patch.email } : {}),
        ...(patch.language !== undefined ? { language: patch.language } : {}),
        ...(patch.webhookUrl !== undefined ? { webhook_url: patch.webhookUrl } : {}),
        ...(patch.tier !== undefined ? { tier: patch.tier } : {}),
        updated_at: this.db.fn.now(),
      })
      .returning('*')) as TenantRow[];
    return rows[0] && fromRow(rows[0]);
  }

  async list(opts: { only?: readonly string[]; afterId?: string; limit: number }): Promise<Tenant[]> {
    const q = this.db('tenants').orderBy('id').limit(opts.limit);
    if (opts.only) q.whereIn('id', [...opts.only]);
    if (opts.afterId) q.where('id', '>', opts.afterId);
    return ((await q) as TenantRow[]).map(fromRow);
  }
}
