/**
 * The part of {@link DirQuotaMetadata} that is the same on every layout: open the volume's
 * handle from its meta URL and call the layout's function, refusing quotas where the format has
 * none. Each layout (server/meta/tkv, server/meta/redis) gives its functions and its own batched
 * `readDirQuotasMany`, which is where the two really differ (engine batch reads, Redis pipelines).
 */
import { capabilitiesOf } from './quota-capabilities.js';
import { NativeQuotaUnsupportedError, type DirQuotaLimits, type DirQuotaMetadata, type DirQuotaRecord, type QuotaCapabilities, type SubtreeUsage, type VolumeRef } from './volume-metadata.js';

/** A layout's directory-quota functions over its volume handle `H`. */
export interface DirQuotaLayout<H> {
  resolveDirectory(h: H, path: Buffer): Promise<bigint | undefined>;
  directoryPath(h: H, inode: bigint): Promise<Buffer | undefined>;
  setDirQuota(h: H, inode: bigint, limits: DirQuotaLimits): Promise<{ created: boolean; record: DirQuotaRecord }>;
  deleteDirQuota(h: H, inode: bigint): Promise<boolean>;
  listDirQuotas(h: H): Promise<DirQuotaRecord[]>;
  subtreeUsage(h: H, inode: bigint): Promise<SubtreeUsage>;
  /** True when the record was rewritten. */
  repairDirQuota(h: H, inode: bigint, usage: SubtreeUsage): Promise<boolean>;
}

/** {@link DirQuotaMetadata} over one layout; subclasses add the batched read. */
export abstract class LayoutDirQuotas<H extends { readSettingText(): Promise<string> }> implements DirQuotaMetadata {
  constructor(
    /** Opens a meta URL's handle (shared with the layout's VolumeMetadata). */
    protected readonly volume: (metaUrl: string) => H,
    private readonly layout: DirQuotaLayout<H>,
  ) {}

  async quotaCapabilities(v: VolumeRef): Promise<QuotaCapabilities> {
    return capabilitiesOf(await this.volume(v.metaUrl).readSettingText());
  }
  resolveDirectory(v: VolumeRef, path: Buffer): Promise<bigint | undefined> {
    return this.layout.resolveDirectory(this.volume(v.metaUrl), path);
  }
  directoryPath(v: VolumeRef, inode: bigint): Promise<Buffer | undefined> {
    return this.layout.directoryPath(this.volume(v.metaUrl), inode);
  }
  async setDirQuota(v: VolumeRef, inode: bigint, limits: DirQuotaLimits): Promise<{ created: boolean; record: DirQuotaRecord }> {
    const caps = await this.quotaCapabilities(v);
    if (!caps.dirQuotas) throw new NativeQuotaUnsupportedError(caps.dirReason!);
    return this.layout.setDirQuota(this.volume(v.metaUrl), inode, limits);
  }
  async deleteDirQuota(v: VolumeRef, inode: bigint): Promise<{ deleted: boolean }> {
    return { deleted: await this.layout.deleteDirQuota(this.volume(v.metaUrl), inode) };
  }
  listDirQuotas(v: VolumeRef): Promise<DirQuotaRecord[]> {
    return this.layout.listDirQuotas(this.volume(v.metaUrl));
  }
  subtreeUsage(v: VolumeRef, inode: bigint): Promise<SubtreeUsage> {
    return this.layout.subtreeUsage(this.volume(v.metaUrl), inode);
  }
  async repairDirQuota(v: VolumeRef, inode: bigint, usage: SubtreeUsage): Promise<{ repaired: boolean }> {
    return { repaired: await this.layout.repairDirQuota(this.volume(v.metaUrl), inode, usage) };
  }

  abstract readDirQuotasMany(items: readonly { volume: VolumeRef; inode: bigint }[]): Promise<Map<string, DirQuotaRecord | null | Error>>;
}
