/** PostgreSQL store for tenants' storage identities; secret keys are sealed, never stored plain. */
import type { Db } from '../db/database.js';

/** A tenant's storage identity as stored. */
export interface StoredIdentity {
  tenantId: string;
  name: string;
  accessKey: string;
  secretEnc: string;
  createdAt: Date;
}

/** The tenant's identity, if it has one. */
export async function findIdentity(db: Db, tenantId: string): Promise<StoredIdentity | undefined> {
  const r = (await db('storage_identities').where({ tenant_id: tenantId }).first()) as Record<string, unknown> | undefined;
  return r && { tenantId: r.tenant_id as string, name: r.name as string, accessKey: r.access_key as string, secretEnc: r.secret_enc as string, createdAt: r.created_at as Date };
}

/** Records an identity unless the tenant has one; true when this call recorded it. */
export async function insertIdentity(db: Db, i: Omit<StoredIdentity, 'createdAt'>): Promise<boolean> {
  const rows = (await db('storage_identities')
    .insert({ tenant_id: i.tenantId, name: i.name, access_key: i.accessKey, secret_enc: i.secretEnc })
    .onConflict('tenant_id')
    .ignore()
    .returning('tenant_id')) as unknown[];
  return rows.length > 0;
}

/** Buckets of the tenant's live volumes (what its keys may reach): not failed, not being deleted. */
export async function tenantBuckets(db: Db, tenantId: string): Promise<string[]> {
  const rows = (await db('volumes').where({ tenant_id: tenantId }).whereIn('state', ['provisioning', 'active']).whereNotNull('storage_bucket').orderBy('storage_bucket').select('storage_bucket')) as {
    storage_bucket: string;
  }[];
  return rows.map((r) => r.storage_bucket);
}
