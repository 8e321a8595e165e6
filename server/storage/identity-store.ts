/** PostgreSQL store for tenants' storage identities; secret keys are sealed, never stored plain. */
import type { Db } from '../db/database.js';

/** A tenant's storage identity as stored (`accessKey` and `secretEnc`: its current key). */
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

/** Locks the tenant's identity row for a key change (inside the caller's transaction). */
export async function lockIdentity(trx: Db, tenantId: string): Promise<StoredIdentity | undefined> {
  const r = (await trx('storage_identities').where({ tenant_id: tenantId }).forUpdate().first()) as Record<string, unknown> | undefined;
  return r && { tenantId: r.tenant_id as string, name: r.name as string, accessKey: r.access_key as string, secretEnc: r.secret_enc as string, createdAt: r.created_at as Date };
}

/** Replaces the tenant's current key (the previous one stays in SeaweedFS until revoked). */
export async function updateIdentityKey(trx: Db, tenantId: string, accessKey: string, secretEnc: string): Promise<void> {
  await trx('storage_identities').where({ tenant_id: tenantId }).update({ access_key: accessKey, secret_enc: secretEnc });
}

/** Identities whose current access key starts with `prefix` (the rotated ones, see storage-credentials.ts). */
export async function identitiesWithKeyPrefix(db: Db, prefix: string): Promise<StoredIdentity[]> {
  const rows = (await db('storage_identities').whereLike('access_key', `${prefix}%`).orderBy('tenant_id')) as Record<string, unknown>[];
  return rows.map((r) => ({ tenantId: r.tenant_id as string, name: r.name as string, accessKey: r.access_key as string, secretEnc: r.secret_enc as string, createdAt: r.created_at as Date }));
}

/** Every sealed secret, for re-sealing under a new master key (`npm run rekey`). */
export async function allSealedSecrets(db: Db): Promise<{ tenantId: string; secretEnc: string }[]> {
  const rows = (await db('storage_identities').select('tenant_id', 'secret_enc').orderBy('tenant_id')) as { tenant_id: string; secret_enc: string }[];
  return rows.map((r) => ({ tenantId: r.tenant_id, secretEnc: r.secret_enc }));
}

/** Replaces one sealed secret if it is still `expected` (a concurrent rotation wins). */
export async function resealSecret(db: Db, tenantId: string, expected: string, secretEnc: string): Promise<boolean> {
  return (await db('storage_identities').where({ tenant_id: tenantId, secret_enc: expected }).update({ secret_enc: secretEnc })) > 0;
}

/** Whether the tenant exists (a rotation for an unknown tenant is a 404, not a 409). */
export async function tenantExists(db: Db, tenantId: string): Promise<boolean> {
  return !!(await db('tenants').where({ id: tenantId }).first('id'));
}
