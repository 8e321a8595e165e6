/**
 * What other features read of tenants inside their own transactions (a notice's display name,
 * a request's tier, a volume's owner checked before it is created). Built over the tenant store
 * by the composition root, so a fake store gives a fake read model.
 */
import type { Db } from '../db/database.js';
import type { Tenant, TenantStore } from './tenant-store.js';

/** Tenant rows, read in the caller's transaction. */
export interface TenantReadModel {
  /** One tenant by id; `forUpdate` locks it until the caller commits. */
  find(db: Db, tenantId: string, opts?: { forUpdate?: boolean }): Promise<Tenant | undefined>;
}

/** The read model over a tenant store, joining the caller's transaction. */
export function tenantReadModel(store: Pick<TenantStore, 'joined'>): TenantReadModel {
  return { find: (db, tenantId, opts) => store.joined(db).store.find(tenantId, opts) };
}
