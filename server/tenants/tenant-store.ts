/** PostgreSQL store for tenants. Row mapping stays private to this file. */
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

/** Changes some of a tenant's details; returns the new image. */
export async function updateTenant(db: Db, tenantId: string, patch: Partial<Pick<Tenant, 'displayName' | 'email' | 'language' | 'webhookUrl' | 'tier'>>): Promise<Tenant | undefined> {
  const rows = (await db('tenants')
    .where({ id: tenantId })
    .update({
      ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
      ...(patch.email !== undefined ? { email: patch.email } : {}),
      ...(patch.language !== undefined ? { language: patch.language } : {}),
      ...(patch.webhookUrl !== undefined ? { webhook_url: patch.webhookUrl } : {}),
      ...(patch.tier !== undefined ? { tier: patch.tier } : {}),
      updated_at: db.fn.now(),
    })
    .returning('*')) as TenantRow[];
  return rows[0] && fromRow(rows[0]);
}

/** Finds one tenant by id. */
export async function findTenant(db: Db, tenantId: string, opts: { forUpdate?: boolean } = {}): Promise<Tenant | undefined> {
  const q = db('tenants').where({ id: tenantId }).first();
  // NO KEY UPDATE: the row changes, its key never does, so foreign-key checks of inserts that
  // reference it (transitions, notices, requests) do not wait on it, and cannot deadlock with it.
  if (opts.forUpdate) q.forNoKeyUpdate();
  const row = (await q) as TenantRow | undefined;
  return row && fromRow(row);
}

/** Inserts a tenant; returns undefined when the id is already taken (no exception, no abort). */
export async function insertTenant(db: Db, t: Omit<Tenant, 'createdAt'>): Promise<Tenant | undefined> {
  const rows = (await db('tenants')
    .insert({ id: t.id, display_name: t.displayName, email: t.email, language: t.language, webhook_url: t.webhookUrl, tier: t.tier })
    .onConflict('id')
    .ignore()
    .returning('*')) as TenantRow[];
  return rows[0] && fromRow(rows[0]);
}

/** A page of tenants ordered by id, optionally limited to `only` ids. */
export async function listTenants(db: Db, opts: { only?: readonly string[]; afterId?: string; limit: number }): Promise<Tenant[]> {
  const q = db('tenants').orderBy('id').limit(opts.limit);
  if (opts.only) q.whereIn('id', [...opts.only]);
  if (opts.afterId) q.where('id', '>', opts.afterId);
  return ((await q) as TenantRow[]).map(fromRow);
}
