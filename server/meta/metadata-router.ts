/**
 * One {@link VolumeMetadata} for the service, whatever the engine: Redis meta URLs go to the
 * Redis layout, every other scheme to the TKV layout over the ordered-KV engines.
 */
import type { StorageTarget } from '../volumes/metadata-provisioner.js';
import type { Volume } from '../volumes/volume.js';
import type { CounterUsage, VolumeIdentity, VolumeMetadata, WalkOptions, WalkOutcome } from '../volumes/volume-metadata.js';
import { isRedisUrl } from './redis/redis-url.js';

/** Routes each call by the volume's meta URL. */
export class MetadataRouter implements VolumeMetadata {
  constructor(
    private readonly tkv: VolumeMetadata,
    private readonly redis: VolumeMetadata,
  ) {}

  private for(metaUrl: string): VolumeMetadata {
    return isRedisUrl(metaUrl) ? this.redis : this.tkv;
  }

  async provision(v: Volume, target?: StorageTarget): Promise<void> {
    await this.for(v.metaUrl).provision(v, target);
  }
  readUsage(v: Volume): Promise<CounterUsage> {
    return this.for(v.metaUrl).readUsage(v);
  }
  async readUsageMany(volumes: readonly Volume[]): Promise<Map<string, CounterUsage | Error>> {
    const redis = volumes.filter((v) => isRedisUrl(v.metaUrl));
    const tkv = volumes.filter((v) => !isRedisUrl(v.metaUrl));
    const [a, b] = await Promise.all([tkv.length ? this.tkv.readUsageMany(tkv) : new Map(), redis.length ? this.redis.readUsageMany(redis) : new Map()]);
    return new Map([...a, ...b]);
  }
  walk(v: Volume, opts: WalkOptions): Promise<WalkOutcome> {
    return this.for(v.metaUrl).walk(v, opts);
  }
  inspect(metaUrl: string): Promise<VolumeIdentity> {
    return this.for(metaUrl).inspect(metaUrl);
  }
  purge(v: Volume): Promise<{ keysDeleted: number }> {
    return this.for(v.metaUrl).purge(v);
  }
  setLimits(v: Volume, limits: { capacity: bigint; inodes: bigint }): Promise<{ changed: boolean }> {
    return this.for(v.metaUrl).setLimits(v, limits);
  }
}
