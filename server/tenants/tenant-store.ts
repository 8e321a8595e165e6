/** PostgreSQL store for tenants. Row mapping stays private to this file. */
import type { Db } from '../db/database.js';

/** A tenant: a user or team that owns volumes. */
export interface Tenant {
  id: string;
  displayName: string;
  email: string;
  createdAt: Date;
}

interface TenantRow {
  id: string;
  display_name: string;
  email: string;
  created_at: Date;
}

const fromRow = (r: TenantRow): Tenant => ({ id: r.id, displayName: r.display_name, email: r.email, createdAt: r.created_at });

/** Finds one tenant by id. */
export async function findTenant(db: Db, tenantId: string): Promise<Tenant | undefined> {
  const row = (await db('tenants').where({ id: tenantId }).first()) as TenantRow | undefined;
  return row && fromRow(row);
}

/** Inserts a tenant; returns undefined when the id is already taken (no exception, no abort). */
export async function insertTenant(db: Db, t: Omit<Tenant, 'createdAt'>): Promise<Tenant | undefined> {
  const rows = (await db('tenants')
    .insert({ id: t.id, display_name: t.displayName, email: t.email })
    .onConflict('id')
    .ignore()
    .returning('*')) as TenantRow[];
  return rows[0] && fromRow(rows[0]);
}

/** A page of tenants ordered by id, optionally limited to `only` ids. */
export async function listTenants(
  db: Db,
  opts: { only?: readonly string[]; afterId?: string; limit: number },
): Promise<Tenant[]> {
  const q = db('tenants').orderBy('id').limit(opts.limit);
  if (opts.only) q.whereIn('id', [...opts.only]);
  if (opts.afterId) q.where('id', '>', opts.afterId);
  return ((await q) as TenantRow[]).map(fromRow);
}
