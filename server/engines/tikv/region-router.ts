/**
 * Routing of TiKV requests: a region cache (raw boundaries, sorted), a store address cache, one
 * gRPC channel per store, and the retry loop that turns region errors into cache updates and
 * backoff (tikv-protocol.md §4.5, §4.6). Multi-key requests are grouped by region and regrouped
 * whenever a region turns out to have split or moved.
 */
import * as grpc from '@grpc/grpc-js';
import { compareKeys } from '../kv.js';
import { call, toRegionInfo, type PdClient, type RegionInfo } from './pd-client.js';
import { TikvService, channelOptions, u64 } from './protocol.js';
import { BACKOFF, Backoffer } from './backoff.js';
import { TikvError } from './tikv-errors.js';

/** Thrown inside a send when the located region no longer holds every key of a group. */
class Regroup extends Error {}

const inRegion = (r: RegionInfo, key: Uint8Array) => compareKeys(key, r.start) >= 0 && (r.end.length === 0 || compareKeys(key, r.end) < 0);

/** Routes requests to region leaders. */
export class RegionRouter {
  private regions: RegionInfo[] = [];
  private readonly storeAddr = new Map<bigint, string>();
  private readonly conns = new Map<string, grpc.Client>();

  constructor(
    private readonly pd: PdClient,
    private readonly timeoutMs = { call: 30_000, op: 20_000 },
  ) {}

  /** The cached region holding `key`, if any (binary search over the sorted cache). */
  cached(key: Uint8Array): RegionInfo | undefined {
    let lo = 0;
    let hi = this.regions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.regions[mid]!.start, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const r = this.regions[lo - 1];
    return r && inRegion(r, key) ? r : undefined;
  }

  /** The cached region holding `key`, or PD's answer. */
  async locate(key: Uint8Array, bo?: Backoffer): Promise<RegionInfo> {
    const hit = this.cached(key);
    if (hit) return hit;
    const noRegion = (summary: string) => new TikvError('region_unavailable', `PD has no region for key ${Buffer.from(key).toString('hex')} after ${summary}`);
    const own = new Backoffer(this.timeoutMs.op, noRegion);
    for (;;) {
      const r = await this.pd.getRegion(key);
      if (r && inRegion(r, key)) {
        this.insert(r);
        return r;
      }
      // PD has not heard of the region yet (a split being reported): spend from the caller's budget.
      await (bo ?? own).backoff(BACKOFF.regionMiss, `no region for ${Buffer.from(key).toString('hex')}`);
    }
  }

  /** Adds a region, dropping cached regions it overlaps. */
  private insert(r: RegionInfo): void {
    const overlaps = (a: RegionInfo) => (a.end.length === 0 || compareKeys(r.start, a.end) < 0) && (r.end.length === 0 || compareKeys(a.start, r.end) < 0);
    this.regions = this.regions.filter((a) => !overlaps(a) && a.id !== r.id);
    this.regions.push(r);
    this.regions.sort((a, b) => compareKeys(a.start, b.start));
  }

  invalidate(regionId: bigint): void {
    this.regions = this.regions.filter((r) => r.id !== regionId);
  }

  private async client(storeId: bigint): Promise<grpc.Client> {
    let addr = this.storeAddr.get(storeId);
    if (!addr) {
      addr = await this.pd.getStoreAddress(storeId);
      this.storeAddr.set(storeId, addr);
    }
    let c = this.conns.get(addr);
    if (!c) {
      c = new TikvService(addr, grpc.credentials.createInsecure(), channelOptions);
      this.conns.set(addr, c);
    }
    return c;
  }

  /** The `Context` every TiKV request carries. */
  context(r: RegionInfo, extra: object = {}): object {
    return {
      region_id: r.id.toString(),
      region_epoch: { conf_ver: r.confVer.toString(), version: r.version.toString() },
      peer: { id: r.leader.id.toString(), store_id: r.leader.storeId.toString() },
      cluster_id: this.pd.clusterId.toString(),
      ...extra,
    };
  }

  /**
   * Sends `method` to the leader of the region holding `keys[0]` (all `keys` must be in it, or
   * {@link Regroup} is thrown), retrying region errors within the operation deadline.
   */
  async send(method: string, keys: Uint8Array[], build: (r: RegionInfo) => object): Promise<{ res: any; region: RegionInfo }> {
    const bo = new Backoffer(
      this.timeoutMs.op,
      (summary) => new TikvError('region_unavailable', `${method} gave up after ${summary}`, { regionId: this.regions.find((r) => inRegion(r, keys[0]!))?.id }),
    );
    for (;;) {
      bo.check();
      const attempt = bo.attempts();
      const region = await this.locate(keys[0]!, bo);
      if (!keys.every((k) => inRegion(region, k))) throw new Regroup();
      let res: any;
      try {
        const c = await this.client(region.leader.storeId);
        res = await call(c, method, build(region), this.timeoutMs.call);
      } catch (err) {
        const e = err as grpc.ServiceError;
        if (e.code === grpc.status.INVALID_ARGUMENT) throw new TikvError('key_error', `${method} rejected: ${e.message}`, { regionId: region.id });
        this.invalidate(region.id);
        this.storeAddr.delete(region.leader.storeId);
        await bo.backoff(BACKOFF.storeRpc, `region ${region.id} store ${region.leader.storeId}: ${e.message}`);
        continue;
      }
      const re = res.region_error;
      if (!re) return { res, region };
      const cause = `region ${region.id}: ${describeRegionError(re)}`;
      if (re.not_leader) {
        const leader = re.not_leader.leader;
        const peer = leader && region.peers.find((p) => p.storeId === u64(leader.store_id));
        if (peer) {
          this.insert({ ...region, leader: { id: u64(leader.id), storeId: peer.storeId } });
          if (bo.attempts(BACKOFF.notLeader) + attempt < 10) continue; // a known new leader: retry at once
        } else this.invalidate(region.id);
        await bo.backoff(BACKOFF.notLeader, cause);
      } else if (re.epoch_not_match) {
        const current = (re.epoch_not_match.current_regions ?? []) as any[];
        if (current.length === 0) this.invalidate(region.id);
        for (const cr of current) {
          const info = toRegionInfo(cr, { id: region.leader.id.toString(), store_id: region.leader.storeId.toString() });
          const leader = info.peers.find((p) => p.storeId === region.leader.storeId) ?? info.peers[0]!;
          this.insert({ ...info, leader });
        }
        if (current.length === 0 || attempt > 5) await bo.backoff(BACKOFF.epochNotMatch, cause);
      } else if (re.server_is_busy) {
        await bo.backoff(BACKOFF.serverBusy, cause, Number(u64(re.server_is_busy.backoff_ms)) || undefined);
      } else if (re.stale_command || re.max_timestamp_not_synced) {
        await bo.backoff(BACKOFF.staleCommand, cause);
      } else if (re.store_not_match) {
        this.storeAddr.delete(region.leader.storeId);
        this.invalidate(region.id);
        await bo.backoff(BACKOFF.storeNotMatch, cause);
      } else if (re.raft_entry_too_large) {
        throw new TikvError('key_error', `${method}: request too large for region ${region.id}`, { regionId: region.id });
      } else {
        this.invalidate(region.id); // region_not_found, key_not_in_region, message-only, ...
        await bo.backoff(BACKOFF.regionError, cause);
      }
    }
  }

  /**
   * Sends one request per region for `keys`, grouping them by region and regrouping the keys of
   * any group whose region split or moved meanwhile. Results come back per group.
   */
  async sendGrouped(
    method: string,
    keys: Uint8Array[],
    build: (r: RegionInfo, keys: Uint8Array[]) => object,
    maxPerRequest = 5000,
  ): Promise<Array<{ res: any; region: RegionInfo; keys: Uint8Array[] }>> {
    const groups = new Map<bigint, { region: RegionInfo; keys: Uint8Array[] }>();
    // Keys usually arrive in key order (or runs of it): try the previous key's region first.
    let last: { region: RegionInfo; keys: Uint8Array[] } | undefined;
    for (const k of keys) {
      if (last && inRegion(last.region, k)) {
        last.keys.push(k);
        continue;
      }
      const r = this.cached(k) ?? (await this.locate(k));
      let g = groups.get(r.id);
      if (!g) groups.set(r.id, (g = { region: r, keys: [] }));
      g.keys.push(k);
      last = g;
    }
    const jobs: Array<Promise<Array<{ res: any; region: RegionInfo; keys: Uint8Array[] }>>> = [];
    for (const g of groups.values()) {
      for (let i = 0; i < g.keys.length; i += maxPerRequest) {
        const part = g.keys.slice(i, i + maxPerRequest);
        jobs.push(
          this.send(method, part, (r) => build(r, part)).then(
            (out) => [{ ...out, keys: part }],
            (err) => {
              if (err instanceof Regroup) return this.sendGrouped(method, part, build, maxPerRequest);
              throw err;
            },
          ),
        );
      }
    }
    return (await Promise.all(jobs)).flat();
  }

  close(): void {
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }
}

/** A one-line description of a region error for messages. */
export function describeRegionError(re: any): string {
  const kind = Object.keys(re).find((k) => k !== 'message' && re[k] != null);
  return [kind, re.message].filter(Boolean).join(': ') || 'unknown region error';
}

export { Regroup };
