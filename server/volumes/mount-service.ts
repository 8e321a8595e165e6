/**
 * Mount instructions for a volume (`GET /v1/volumes/{id}/mount`). The volume's own setting is read
 * (its JuiceFS name, storage and bucket, as `juicefs mount` will see them, adopted volumes
 * included); the tenant's storage keys are opened only for an admin or an engineer of the
 * volume's tenant. The platform role and anyone else get placeholders.
 */
import type { Principal } from '../auth/principal.js';
import type { AppConfig } from '../config.js';
import { errors } from '../lib/errors.js';
import { DependencyUnavailableError } from '../lib/deadline.js';
import { isRedisUrl, parseRedisUrl, redact, redisMetaUrl } from '../meta/redis/redis-url.js';
import type { VolumeMetadata } from '../meta/volume-metadata.js';
import type { TenantStorageKeys } from '../storage/storage-keys.js';
import { mountInstructions, type MountInstructions } from './mount.js';
import type { Volume } from './volume.js';
import type { VolumeService } from './volume-service.js';

/** Where tenants' storage keys come from (absent when no object store is configured). */
export interface StorageKeySource {
  forTenant(tenantId: string): Promise<TenantStorageKeys | undefined>;
}

/** True when `p` may see the storage keys of `tenantId`'s volumes: admins and the tenant's engineers. */
export function maySeeStorageKeys(p: Principal, tenantId: string): boolean {
  return p.role === 'admin' || (p.role === 'engineer' && p.tenants.includes(tenantId));
}

/** Builds mount instructions. */
export class MountService {
  constructor(
    private readonly volumes: Pick<VolumeService, 'get'>,
    private readonly metadata: Pick<VolumeMetadata, 'inspect'>,
    private readonly meta: Pick<AppConfig['meta'], 'redisUrl'>,
    private readonly keys?: StorageKeySource,
  ) {}

  /** The instructions for a volume the caller can see (404 otherwise, 409 unless active). */
  async instructions(principal: Principal, volumeId: string): Promise<MountInstructions> {
    const v = await this.volumes.get(principal, volumeId);
    if (v.state !== 'active') throw errors.volumeNotActive(v.id, v.state);
    let setting;
    try {
      setting = await this.metadata.inspect(v.metaUrl);
    } catch (err) {
      if (err instanceof DependencyUnavailableError) throw err; // a hung engine: 503 naming it
      throw errors.metadataUnavailable(`could not read the setting of ${redact(v.metaUrl)}: ${(err as Error).message}`);
    }
    const { metaUrl, needsMetaPassword } = this.shownMetaUrl(v);
    // Only buckets Headroom made use the tenant's keys; an adopted volume's keys are its own.
    const keys = v.storage.kind === 's3' && maySeeStorageKeys(principal, v.tenantId) ? await this.keys?.forTenant(v.tenantId) : undefined;
    const out = mountInstructions({
      volumeId: v.id,
      volumeName: v.name,
      tenantId: v.tenantId,
      engine: v.engine,
      metaUrl,
      needsMetaPassword,
      juicefsName: setting.name,
      storage: setting.storage,
      bucket: setting.bucket,
      keys,
      hardBytes: v.quota.hardBytes,
    });
    if (setting.storage !== 'file' && v.storage.kind !== 's3') out.notes.push('This volume was adopted: its storage keys are in its setting and not held by Headroom.');
    return out;
  }

  /**
   * The meta URL to hand out, with no password in it. Redis volumes use the configured server's
   * credentials: its user name goes in the URL, its password is left to `META_PASSWORD`. Any other
   * URL that carries a password (an adopted etcd URL) keeps its user and loses the password.
   */
  private shownMetaUrl(v: Volume): { metaUrl: string; needsMetaPassword: boolean } {
    if (isRedisUrl(v.metaUrl) && this.meta.redisUrl) {
      const loc = parseRedisUrl(v.metaUrl);
      const conf = parseRedisUrl(this.meta.redisUrl, { requireDb: false });
      const url = redisMetaUrl(loc, loc.db);
      const user = conf.username ? `${encodeURIComponent(conf.username)}@` : '';
      return { metaUrl: url.replace('://', `://${user}`), needsMetaPassword: !!conf.password };
    }
    const m = /^([a-z0-9]+:\/\/)([^/@]*)@(.*)$/i.exec(v.metaUrl);
    if (!m) return { metaUrl: v.metaUrl, needsMetaPassword: false };
    const user = m[2]!.split(':')[0]!;
    return { metaUrl: `${m[1]}${user}@${m[3]}`, needsMetaPassword: m[2]!.includes(':') };
  }
}
