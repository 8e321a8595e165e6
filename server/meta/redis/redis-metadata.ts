/**
 * The service's access to JuiceFS volumes whose metadata is in Redis: the {@link VolumeMetadata}
 * port over {@link RedisVolume} and {@link walkRedisVolume}. One client per database, opened
 * lazily and closed at shutdown; credentials for a server come from `REDIS_META_URL` (stored
 * meta URLs carry none).
 */
import { Redis } from 'ioredis';
import type { CounterUsage, SettingLimits, VolumeIdentity, VolumeMetadata, WalkOptions, WalkOutcome, StorageTarget, VolumeRef } from '../volume-metadata.js';
import { formatOrAccept, identityOf, limitsOf, onlyUsage, readCountersInBatch, walkOutcome, type FormatDefaults } from '../juicefs-metadata.js';
import { parseRedisUrl, type RedisLocation } from './redis-url.js';
import { RedisVolume } from './redis-volume.js';
import { walkRedisVolume } from './walk.js';
import { RedisWatch, type WatchLog } from '../../lib/redis-watch.js';
import { RedisDirQuotas } from './quota-records.js';
import { RedisUserGroupQuotas } from './ug-quota-records.js';

/** {@link VolumeMetadata} over Redis. */
export class RedisMetadata implements VolumeMetadata {
  private readonly clients = new Map<string, Redis>();
  /** One outage log per server, shared by its databases' clients (see lib/redis-watch.ts). */
  private readonly watches = new Map<string, RedisWatch>();

  /** The volumes' native directory quotas, on the same clients. */
  readonly quotas = new RedisDirQuotas((metaUrl) => this.volume(metaUrl));
  /** Their JuiceFS 1.4 user and group quotas. */
  readonly userGroupQuotas = new RedisUserGroupQuotas((metaUrl) => this.volume(metaUrl));

  constructor(
    private readonly defaults: FormatDefaults,
    /** The configured server (with credentials), if any. */
    private readonly server: RedisLocation | undefined,
    /**
     * The callers' deadline per call (see MetadataRouter). ioredis gets four times that per
     * command, so the callers' deadline answers first while a paused server's queued commands
     * still fail in the end instead of piling up forever.
     */
    private readonly timeoutMs = 1500,
    /** Where outages of a Redis server are logged (once each); none = listeners only. */
    private readonly log?: WatchLog,
  ) {}

  /** Handles by meta URL: a counters pass asks for every volume every few minutes. */
  private readonly handles = new Map<string, RedisVolume>();

  /** The volume handle of a Redis meta URL (cached, as its client is). */
  volume(metaUrl: string): RedisVolume {
    let h = this.handles.get(metaUrl);
    if (!h) {
      h = new RedisVolume(this.client(metaUrl));
      if (this.handles.size >= 100_000) this.handles.clear(); // bound memory on huge fleets
      this.handles.set(metaUrl, h);
    }
    return h;
  }

  /** The shared client of a meta URL's database, opened on first use. */
  private client(metaUrl: string): Redis {
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
        commandTimeout: this.timeoutMs * 4,
      });
      let watch = this.watches.get(loc.server);
      if (!watch) this.watches.set(loc.server, (watch = new RedisWatch(this.log, `metadata engine at ${loc.server}`)));
      watch.watch(client);
      this.clients.set(key, client);
    }
    return client;
  }

  async provision(v: VolumeRef, target?: StorageTarget): Promise<void> {
    await formatOrAccept(this.volume(v.metaUrl), v, this.defaults, target);
  }

  async readUsage(v: VolumeRef): Promise<CounterUsage> {
    // Through the batch path, so a volume whose metadata vanished fails here too.
    return onlyUsage(await this.readUsageMany([v]), v.id);
  }

  /**
   * One pipeline per database (`RedisVolume.readCountersMany`); if it fails, volume by volume,
   * so a volume whose read fails is an Error in the map, alone.
   */
  async readUsageMany(volumes: readonly VolumeRef[]): Promise<Map<string, CounterUsage | Error>> {
    const out = new Map<string, CounterUsage | Error>();
    const batch: { v: VolumeRef; h: RedisVolume }[] = [];
    for (const v of volumes) {
      try {
        batch.push({ v, h: this.volume(v.metaUrl) });
      } catch (err) {
        out.set(v.id, err as Error);
      }
    }
    if (batch.length) await readCountersInBatch(batch, (hs) => RedisVolume.readCountersMany(hs), out);
    return out;
  }

  /** Settings of many volumes, read concurrently (ioredis pipelines them on each connection). */
  async readLimitsMany(volumes: readonly VolumeRef[]): Promise<Map<string, SettingLimits | Error>> {
    const read = async (v: VolumeRef): Promise<SettingLimits | Error> => {
      try {
        return limitsOf(await this.volume(v.metaUrl).readSetting());
      } catch (err) {
        return err as Error;
      }
    };
    return new Map(await Promise.all(volumes.map(async (v) => [v.id, await read(v)] as const)));
  }

  async walk(v: VolumeRef, opts: WalkOptions): Promise<WalkOutcome> {
    const rv = this.volume(v.metaUrl);
    const w = await walkRedisVolume(rv.redis, { keys: rv.keys, ...opts });
    return walkOutcome(w, await rv.readCounters());
  }

  async inspect(metaUrl: string): Promise<VolumeIdentity> {
    return identityOf(await this.volume(metaUrl).readSetting());
  }

  /** Empties the volume's database: one JuiceFS volume per database, so all of it is the volume. */
  async purge(v: VolumeRef): Promise<{ keysDeleted: number }> {
    const r = this.volume(v.metaUrl).redis;
    const keysDeleted = await r.dbsize();
    await r.flushdb();
    return { keysDeleted };
  }

  async setLimits(v: VolumeRef, limits: { capacity: bigint; inodes: bigint }): Promise<{ changed: boolean }> {
    const r = await this.volume(v.metaUrl).setLimits(limits);
    return { changed: r.changed };
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    this.handles.clear();
    await Promise.allSettled(all.map((c) => c.quit().catch(() => c.disconnect())));
  }
}
