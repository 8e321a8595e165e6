/**
 * The service's access to JuiceFS volumes whose metadata is in Redis: the {@link VolumeMetadata}
 * port over {@link RedisVolume} and {@link walkRedisVolume}. One client per database, opened
 * lazily and closed at shutdown; credentials for a server come from `REDIS_META_URL` (stored
 * meta URLs carry none).
 */
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Volume } from '../../volumes/volume.js';
import type { StorageTarget } from '../../volumes/metadata-provisioner.js';
import type { CounterUsage, VolumeIdentity, VolumeMetadata, WalkOptions, WalkOutcome } from '../../volumes/volume-metadata.js';
import { juicefsName, walkOutcome, type FormatDefaults } from '../juicefs-metadata.js';
import { PrefixNotEmptyError } from '../tkv/tkv-volume.js';
import { parseRedisUrl, type RedisLocation } from './redis-url.js';
import { RedisVolume } from './redis-volume.js';
import { walkRedisVolume } from './walk.js';

/** {@link VolumeMetadata} over Redis. */
export class RedisMetadata implements VolumeMetadata {
  private readonly clients = new Map<string, Redis>();

  constructor(
    private readonly defaults: FormatDefaults,
    /** The configured server (with credentials), if any. */
    private readonly server: RedisLocation | undefined,
  ) {}

  /** The volume handle of a Redis meta URL. */
  volume(metaUrl: string): RedisVolume {
    const loc = parseRedisUrl(metaUrl);
    const key = `${loc.server}/${loc.db}`;
    let client = this.clients.get(key);
    if (!client) {
      const creds = this.server?.server === loc.server ? this.server : loc;
      client = new Redis({
        host: loc.host,
        port: loc.port,
        db: loc.db,
        username: creds.username,
        password: creds.password,
        tls: loc.tls ? {} : undefined,
        lazyConnect: true,
        maxRetriesPerRequest: 2,
        connectTimeout: 5000,
      });
      this.clients.set(key, client);
    }
    return new RedisVolume(client);
  }

  async provision(v: Volume, target?: StorageTarget): Promise<void> {
    const rv = this.volume(v.metaUrl);
    const name = juicefsName(v);
    try {
      await rv.format({
        name,
        storage: target?.storage ?? 'file',
        bucket: target?.bucket ?? path.join(this.defaults.objectsDir, path.sep),
        accessKey: target?.accessKey,
        secretKey: target?.secretKey,
        capacity: v.quota.hardBytes ?? 0n,
        inodes: v.quota.hardInodes ?? 0n,
        trashDays: this.defaults.trashDays,
        version: this.defaults.version,
      });
    } catch (err) {
      // An earlier attempt formatted it and crashed before recording that: accept our own format.
      if (err instanceof PrefixNotEmptyError && (await rv.readSetting().catch(() => undefined))?.name === name) return;
      throw err;
    }
  }

  async readUsage(v: Volume): Promise<CounterUsage> {
    const c = await this.volume(v.metaUrl).readCounters();
    return { usedBytes: c.usedSpace, usedInodes: c.totalInodes };
  }

  /** One pipeline per database; a volume whose read fails is an Error in the map, alone. */
  async readUsageMany(volumes: readonly Volume[]): Promise<Map<string, CounterUsage | Error>> {
    const out = new Map<string, CounterUsage | Error>();
    await Promise.all(
      volumes.map(async (v) => {
        try {
          out.set(v.id, await this.readUsage(v));
        } catch (err) {
          out.set(v.id, err as Error);
        }
      }),
    );
    return out;
  }

  async walk(v: Volume, opts: WalkOptions): Promise<WalkOutcome> {
    const rv = this.volume(v.metaUrl);
    const w = await walkRedisVolume(rv.redis, { keys: rv.keys, ...opts });
    return walkOutcome(w, await rv.readCounters());
  }

  async inspect(metaUrl: string): Promise<VolumeIdentity> {
    const s = await this.volume(metaUrl).readSetting();
    return { name: s.name, uuid: s.uuid, storage: s.storage, bucket: s.bucket, capacity: s.capacity, inodes: s.inodes };
  }

  async setLimits(v: Volume, limits: { capacity: bigint; inodes: bigint }): Promise<{ changed: boolean }> {
    const r = await this.volume(v.metaUrl).setLimits(limits);
    return { changed: r.changed };
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.allSettled(all.map((c) => c.quit().catch(() => c.disconnect())));
  }
}
