/**
 * One {@link DirQuotaMetadata} for the service: Redis meta URLs go to the Redis layout, every other
 * scheme to the TKV layout, as `MetadataRouter` routes volume calls. Every call gets a deadline
 * (subtree traversals a much wider one), so a hung engine answers `DependencyUnavailableError`
 * instead of hanging a request or a pass.
 */
import { withDeadline } from '../lib/deadline.js';
import { isRedisUrl } from './redis/redis-url.js';
import type { DirQuotaLimits, DirQuotaMetadata, DirQuotaRecord, QuotaCapabilities, SubtreeUsage, UserGroupKind, UserGroupQuotaMetadata, VolumeRef } from './volume-metadata.js';

/**
 * Deadline multiple for subtree traversals (60 s at the default 1.5 s): a few hundred thousand entries
 * on etcd; a bigger subtree fails with 503 and its quota is retried by the reconcile pass.
 */
const TRAVERSAL_FACTOR = 40;

/** Routes each call by the volume's meta URL. */
export class DirQuotaRouter implements DirQuotaMetadata, UserGroupQuotaMetadata {
  constructor(
    private readonly tkv: DirQuotaMetadata,
    private readonly redis: DirQuotaMetadata,
    /** Deadline of one call (a batch read counts as one call). */
    private readonly timeoutMs = 1500,
    /** User/group quotas of each layout (JuiceFS 1.4); without them those calls fail. */
    private readonly ug?: { tkv: UserGroupQuotaMetadata; redis: UserGroupQuotaMetadata },
  ) {}

  private ugFor(v: VolumeRef): UserGroupQuotaMetadata {
    if (!this.ug) throw new Error('user/group quotas are not configured');
    return isRedisUrl(v.metaUrl) ? this.ug.redis : this.ug.tkv;
  }
  setUserGroupQuota(v: VolumeRef, kind: UserGroupKind, id: bigint, limits: DirQuotaLimits): Promise<{ created: boolean; record: DirQuotaRecord }> {
    return this.deadline(this.ugFor(v).setUserGroupQuota(v, kind, id, limits), v.metaUrl);
  }
  deleteUserGroupQuota(v: VolumeRef, kind: UserGroupKind, id: bigint): Promise<{ deleted: boolean }> {
    return this.deadline(this.ugFor(v).deleteUserGroupQuota(v, kind, id), v.metaUrl);
  }
  listUserGroupQuotas(v: VolumeRef, kind: UserGroupKind): Promise<DirQuotaRecord[]> {
    return this.deadline(this.ugFor(v).listUserGroupQuotas(v, kind), v.metaUrl, 4);
  }
  /** Each layout's share in one batch call, as {@link readDirQuotasMany}. */
  async readUserGroupQuotasMany(items: readonly { volume: VolumeRef; kind: UserGroupKind; id: bigint }[]): Promise<Map<string, DirQuotaRecord | null | Error>> {
    const out = new Map<string, DirQuotaRecord | null | Error>();
    for (const redis of [false, true]) {
      const share = items.filter((i) => isRedisUrl(i.volume.metaUrl) === redis);
      if (!share.length) continue;
      try {
        for (const [k, r] of await this.deadline(this.ugFor(share[0]!.volume).readUserGroupQuotasMany(share), share[0]!.volume.metaUrl, 4)) out.set(k, r);
      } catch (err) {
        for (const i of share) out.set(`${i.volume.id}/${i.kind}:${i.id}`, err as Error);
      }
    }
    return out;
  }

  private for(v: VolumeRef): DirQuotaMetadata {
    return isRedisUrl(v.metaUrl) ? this.redis : this.tkv;
  }

  private deadline<T>(work: Promise<T>, metaUrl: string, factor = 1): Promise<T> {
    return withDeadline(work, this.timeoutMs * factor, `metadata engine (${metaUrl.split(':')[0]})`);
  }

  quotaCapabilities(v: VolumeRef): Promise<QuotaCapabilities> {
    return this.deadline(this.for(v).quotaCapabilities(v), v.metaUrl);
  }
  resolveDirectory(v: VolumeRef, path: Buffer): Promise<bigint | undefined> {
    return this.deadline(this.for(v).resolveDirectory(v, path), v.metaUrl, 4);
  }
  directoryPath(v: VolumeRef, inode: bigint): Promise<Buffer | undefined> {
    return this.deadline(this.for(v).directoryPath(v, inode), v.metaUrl, 4);
  }
  setDirQuota(v: VolumeRef, inode: bigint, limits: DirQuotaLimits): Promise<{ created: boolean; record: DirQuotaRecord }> {
    // A new record's usage is a traversal of the subtree: a much wider bound than one call.
    return this.deadline(this.for(v).setDirQuota(v, inode, limits), v.metaUrl, TRAVERSAL_FACTOR);
  }
  deleteDirQuota(v: VolumeRef, inode: bigint): Promise<{ deleted: boolean }> {
    return this.deadline(this.for(v).deleteDirQuota(v, inode), v.metaUrl);
  }
  listDirQuotas(v: VolumeRef): Promise<DirQuotaRecord[]> {
    return this.deadline(this.for(v).listDirQuotas(v), v.metaUrl, 4);
  }
  subtreeUsage(v: VolumeRef, inode: bigint): Promise<SubtreeUsage> {
    return this.deadline(this.for(v).subtreeUsage(v, inode), v.metaUrl, TRAVERSAL_FACTOR);
  }
  repairDirQuota(v: VolumeRef, inode: bigint, usage: SubtreeUsage): Promise<{ repaired: boolean }> {
    return this.deadline(this.for(v).repairDirQuota(v, inode, usage), v.metaUrl);
  }

  /** Each layout's share in one batch call; a share past its deadline fails as a whole. */
  async readDirQuotasMany(items: readonly { volume: VolumeRef; inode: bigint }[]): Promise<Map<string, DirQuotaRecord | null | Error>> {
    const shares = [items.filter((i) => !isRedisUrl(i.volume.metaUrl)), items.filter((i) => isRedisUrl(i.volume.metaUrl))];
    const maps = await Promise.all(
      shares.map(async (share, n) => {
        if (!share.length) return new Map<string, DirQuotaRecord | null | Error>();
        try {
          return await this.deadline((n === 0 ? this.tkv : this.redis).readDirQuotasMany(share), share[0]!.volume.metaUrl, 4);
        } catch (err) {
          return new Map<string, DirQuotaRecord | null | Error>(share.map((i) => [`${i.volume.id}/${i.inode}`, err as Error]));
        }
      }),
    );
    return new Map(maps.flatMap((m) => [...m]));
  }
}
