/**
 * Read model of tenants' storage keys for the features that hand them out (mount instructions):
 * the tenant's access key and its secret key, opened from its sealed form in PostgreSQL. Callers
 * decide who may see them; nothing here logs or caches a secret.
 */
import type { IdentityStore } from './identity-store.js';
import type { SecretBox } from './secret-box.js';

/** A tenant's S3 keys in clear. */
export interface TenantStorageKeys {
  accessKey: string;
  secretKey: string;
}

/** Opens tenants' sealed storage keys. */
export class StorageKeys {
  constructor(
    private readonly identities: IdentityStore,
    private readonly box: SecretBox,
  ) {}

  /** The tenant's keys, or undefined when it has no storage identity yet. */
  async forTenant(tenantId: string): Promise<TenantStorageKeys | undefined> {
    const row = await this.identities.find(tenantId);
    return row && { accessKey: row.accessKey, secretKey: this.box.open(row.secretEnc) };
  }
}
