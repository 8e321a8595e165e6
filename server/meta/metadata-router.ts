/**
 * One {@link VolumeMetadata} for the service, whatever the engine: Redis meta URLs go to the
 * Redis layout, every other scheme to the TKV layout over the ordered-KV engines. Every call but
 * the walk (paged, with its own budget and cancellation) gets a deadline, so a hung engine
 * answers {@link DependencyUnavailableError} instead of hanging a request or a pass.
 */
import { KvUnavailableError } from '../engines/kv.js';
import { DependencyUnavailableError, withDeadline } from '../lib/deadline.js';
import type { CounterUsage, SettingLimits, VolumeIdentity, VolumeMetadata, WalkOptions, WalkOutcome, StorageTarget, VolumeRef } from './volume-metadata.js';
import { isRedisUrl } from './redis/redis-url.js';

/** Routes each call by the volume's meta URL. */
export class MetadataRouter implements VolumeMetadata {
  constructor(
    private readonly tkv: VolumeMetadata,
    private readonly redis: VolumeMetadata,
    /** Deadline of one call (a batch read counts as one call). */
    private readonly timeoutMs = 1500,
  ) {}

  private for(metaUrl: string): VolumeMetadata {
    return isRedisUrl(metaUrl) ? this.redis : this.tkv;
  }

  private deadline<T>(work: Promise<T>, metaUrl: string, factor = 1): Promise<T> {
    // Named by engine kind only: callers (engineers too) must not learn internal host names.
    const dependency = `metadata engine (${metaUrl.split(':')[0]})`;
    // An engine that cannot be reached is the same outage as one that does not answer in time.
    const reached = work.catch((err: unknown) => {
      throw unreachable(err) ? new DependencyUnavailableError(dependency, 'could not be reached') : err;
    });
    return withDeadline(reached, this.timeoutMs * factor, dependency);
  }

  /**
   * Runs a batch call on each layout's share of `volumes`; a share past its deadline fails as a
   * whole. A fleet on one layout (the usual case) gets its layout's map as it is, uncopied.
   */
  private async many<T>(volumes: readonly VolumeRef[], call: (m: VolumeMetadata, share: VolumeRef[]) => Promise<Map<string, T | Error>>): Promise<Map<string, T | Error>> {
    const tkv: VolumeRef[] = [];
    const redis: VolumeRef[] = [];
    for (const v of volumes) (isRedisUrl(v.metaUrl) ? redis : tkv).push(v);
    const run = async (m: VolumeMetadata, share: VolumeRef[]): Promise<Map<string, T | Error>> => {
      try {
        // A batch may span many round trips: a longer deadline than one call, still bounded.
        return await this.deadline(call(m, share), share[0]!.metaUrl, 4);
      } catch (err) {
        return new Map<string, T | Error>(share.map((v) => [v.id, err as Error]));
      }
    };
    if (!redis.length) return tkv.length ? run(this.tkv, tkv) : new Map();
    if (!tkv.length) return run(this.redis, redis);
    const [a, b] = await Promise.all([run(this.tkv, tkv), run(this.redis, redis)]);
    const [into, from] = a.size >= b.size ? [a, b] : [b, a];
    for (const [id, r] of from) into.set(id, r);
    return into;
  }

  async provision(v: VolumeRef, target?: StorageTarget): Promise<void> {
    await this.deadline(this.for(v.metaUrl).provision(v, target), v.metaUrl, 2);
  }
  readUsage(v: VolumeRef): Promise<CounterUsage> {
    return this.deadline(this.for(v.metaUrl).readUsage(v), v.metaUrl);
  }
  readUsageMany(volumes: readonly VolumeRef[]): Promise<Map<string, CounterUsage | Error>> {
    return this.many(volumes, (m, share) => m.readUsageMany(share));
  }
  readLimitsMany(volumes: readonly VolumeRef[]): Promise<Map<string, SettingLimits | Error>> {
    return this.many(volumes, (m, share) => m.readLimitsMany(share));
  }
  walk(v: VolumeRef, opts: WalkOptions): Promise<WalkOutcome> {
    return this.for(v.metaUrl).walk(v, opts);
  }
  inspect(metaUrl: string): Promise<VolumeIdentity> {
    return this.deadline(this.for(metaUrl).inspect(metaUrl), metaUrl);
  }
  purge(v: VolumeRef): Promise<{ keysDeleted: number }> {
    // Purging deletes in rounds of a hundred keys; big volumes take a while, so a wider bound.
    return this.deadline(this.for(v.metaUrl).purge(v), v.metaUrl, 40);
  }
  setLimits(v: VolumeRef, limits: { capacity: bigint; inodes: bigint }): Promise<{ changed: boolean }> {
    return this.deadline(this.for(v.metaUrl).setLimits(v, limits), v.metaUrl);
  }
}

/** Whether an engine error means nothing answered at all (as opposed to a bad record or a refusal). */
function unreachable(err: unknown): boolean {
  if (err instanceof KvUnavailableError) return true;
  const e = err as { name?: string; message?: string; code?: string };
  // ioredis: no connection, or it gave up retrying a command while disconnected.
  return (
    e?.name === 'MaxRetriesPerRequestError' ||
    /^Connection is closed|ECONNREFUSED|ECONNRESET|EHOSTUNREACH/.test(e?.message ?? '') ||
    ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH'].includes(e?.code ?? '')
  );
}
