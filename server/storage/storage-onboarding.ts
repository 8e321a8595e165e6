/**
 * Onboarding with object storage: for each volume its own bucket, for each tenant one identity
 * whose keys reach exactly the tenant's buckets, then the JuiceFS format with `Storage: s3`, that
 * bucket and those keys. Every step is idempotent, so a crash between steps is finished by
 * running again (the reconciler does); a failed provisioning is rolled back (bucket deleted, the
 * identity's policy narrowed again), leaving nothing behind.
 *
 * The tenant's secret key is generated here, sealed into PostgreSQL *before* SeaweedFS is told
 * about it (so a retry after a crash uses the same key), returned once to the caller that created
 * it, and never logged.
 */
import { randomBytes } from 'node:crypto';
import type { MetadataProvisioner, ProvisionResult } from '../volumes/metadata-provisioner.js';
import type { Volume } from '../volumes/volume.js';
import type { IdentityStore, TenantBuckets } from './identity-store.js';
import type { SecretBox } from './secret-box.js';
import type { SeaweedStorage } from './seaweedfs/seaweedfs-storage.js';

/** The bucket of a volume: `jfs-<prefix>`, unique because prefixes are, within S3's 63 characters. */
export function bucketFor(prefix: string): string {
  const b = `jfs-${prefix}`;
  if (b.length <= 63) return b;
  const h = Buffer.from(prefix)
    .reduce((a, c) => (a * 31 + c) >>> 0, 7)
    .toString(36);
  return `jfs-${prefix.slice(0, 50)}-${h}`.slice(0, 63).replace(/-+$/, '');
}

/** The storage identity name of a tenant. */
export const identityName = (tenantId: string) => `headroom-${tenantId}`;

/** What onboarding works with. */
export interface StorageOnboardingDeps {
  identities: IdentityStore;
  /** The buckets a tenant's keys may reach. */
  buckets: TenantBuckets;
  storage: SeaweedStorage;
  box: SecretBox;
  /** The metadata format step this wraps. */
  metadata: MetadataProvisioner;
}

/** Storage steps around the metadata format. */
export class StorageOnboarding implements MetadataProvisioner {
  private readonly identities: IdentityStore;
  private readonly buckets: TenantBuckets;
  private readonly storage: SeaweedStorage;
  private readonly box: SecretBox;
  private readonly metadata: MetadataProvisioner;

  constructor(d: StorageOnboardingDeps) {
    ({ identities: this.identities, buckets: this.buckets, storage: this.storage, box: this.box, metadata: this.metadata } = d);
  }

  /** Step 1: the volume's bucket. */
  async bucket(v: Volume): Promise<void> {
    await this.storage.ensureBucket(v.storage.bucket!);
  }

  /** Step 2: the tenant's identity with access to its buckets; new keys are returned once. */
  async identity(v: Volume): Promise<{ accessKey: string; secretKey: string; created: boolean }> {
    let created = false;
    let row = await this.identities.find(v.tenantId);
    if (!row) {
      const accessKey = `HR${randomBytes(9).toString('hex').toUpperCase()}`;
      const secretKey = randomBytes(30).toString('base64url');
      // A concurrent onboarding of the tenant may win: its key is the one used, ours dropped.
      created = await this.identities.insert({ tenantId: v.tenantId, name: identityName(v.tenantId), accessKey, secretEnc: this.box.seal(secretKey) });
      row = (await this.identities.find(v.tenantId))!;
    }
    const keys = { accessKey: row.accessKey, secretKey: this.box.open(row.secretEnc) };
    const buckets = new Set(await this.buckets(v.tenantId));
    buckets.add(v.storage.bucket!);
    await this.storage.ensureIdentity(row.name, keys, [...buckets].sort());
    return { ...keys, created };
  }

  async provision(v: Volume): Promise<void | ProvisionResult> {
    if (v.storage.kind !== 's3' || !v.storage.bucket) return this.metadata.provision(v);
    await this.bucket(v);
    const id = await this.identity(v);
    // Step 3: format, with the keys JuiceFS will use (encrypted in the setting as JuiceFS does).
    await this.metadata.provision(v, { storage: 's3', bucket: this.storage.bucketUrl(v.storage.bucket), accessKey: id.accessKey, secretKey: id.secretKey });
    return id.created ? { newCredentials: { accessKey: id.accessKey, secretKey: id.secretKey } } : {};
  }

  /** Purge of a deleted volume: the same as undoing its onboarding. */
  purge(v: Volume): Promise<void> {
    return this.rollback(v);
  }

  /** Deletes the volume's bucket and takes it out of the identity's policy. */
  async rollback(v: Volume): Promise<void> {
    if (v.storage.kind !== 's3' || !v.storage.bucket) return;
    // Revoke first, then delete: the keys must not reach a bucket in the middle of going away.
    const row = await this.identities.find(v.tenantId);
    if (row) {
      const buckets = (await this.buckets(v.tenantId)).filter((b) => b !== v.storage.bucket);
      await this.storage.ensureIdentity(row.name, { accessKey: row.accessKey, secretKey: this.box.open(row.secretEnc) }, buckets);
    }
    await this.storage.deleteBucket(v.storage.bucket);
  }
}
