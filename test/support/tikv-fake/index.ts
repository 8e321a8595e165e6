/**
 * In-process fake PD + TiKV: real gRPC servers on loopback (one PD, N stores) speaking the same
 * services as the real ones (from our kvproto subsets), sharing one cluster model (regions with
 * epochs, peers and leaders) and one MVCC store. TiKV-side validation follows tikv-protocol.md
 * §7.3 in order; faults can be injected per method, region or store; the clock can be advanced so
 * locks expire without sleeping. Built from the protocol notes, not from TiKV's code.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeKey, encodeKey } from '../../../server/engines/tikv/codec.js';
import { PdService, TikvService, composeTs, u64 } from '../../../server/engines/tikv/protocol.js';
import { Mvcc, type FakeLock, type FakeWrite } from './mvcc.js';

export type { FakeLock, FakeWrite };

export interface FakeTikvOptions {
  stores?: number;
  splitKeys?: Buffer[];
  clusterId?: bigint;
}
export interface FakeRegionInfo {
  id: bigint;
  start: Buffer;
  end: Buffer;
  version: bigint;
  confVer: bigint;
  leaderStoreId: bigint;
  peers: { id: bigint; storeId: bigint }[];
}
export type FakeFault =
  | {
      kind: 'not_leader' | 'epoch_not_match' | 'server_is_busy' | 'stale_command' | 'region_not_found' | 'unavailable' | 'drop_reply';
      method?: string;
      regionId?: bigint;
      storeId?: bigint;
      count?: number;
    }
  | { kind: 'delay'; ms: number; method?: string; regionId?: bigint; storeId?: bigint; count?: number };

export interface FakeTikv {
  pdEndpoint: string;
  clusterId: bigint;
  stores: { id: bigint; address: string }[];
  regions(): FakeRegionInfo[];
  split(rawKey: Buffer): void;
  transferLeader(regionId: bigint, storeId: bigint): void;
  setPdStale(stale: boolean): void;
  /**
   * PD loses (true) or regains (false) its leader, as during a PD election: members are listed
   * with no leader, and every region, store and timestamp request is refused ("not leader").
   */
  setPdLeaderless(lost: boolean): void;
  injectFault(f: FakeFault): void;
  clearFaults(): void;
  advanceClock(ms: number): void;
  nowTs(): bigint;
  seedLock(key: Buffer, lock: FakeLock): void;
  seedWrite(key: Buffer, w: FakeWrite): void;
  inspect(key: Buffer): { lock?: FakeLock; writes: FakeWrite[] };
  calls(method: string): number;
  close(): Promise<void>;
}

const s = (n: bigint) => n.toString();
const contains = (r: FakeRegionInfo, k: Buffer) => Buffer.compare(k, r.start) >= 0 && (r.end.length === 0 || Buffer.compare(k, r.end) < 0);

function regionPb(r: FakeRegionInfo): object {
  return {
    id: s(r.id),
    start_key: r.start.length ? encodeKey(r.start) : Buffer.alloc(0),
    end_key: r.end.length ? encodeKey(r.end) : Buffer.alloc(0),
    region_epoch: { conf_ver: s(r.confVer), version: s(r.version) },
    peers: r.peers.map((p) => ({ id: s(p.id), store_id: s(p.storeId) })),
  };
}
const leaderPeer = (r: FakeRegionInfo) => {
  const p = r.peers.find((x) => x.storeId === r.leaderStoreId)!;
  return { id: s(p.id), store_id: s(p.storeId) };
};

async function listen(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
}

/** Starts a fake cluster. */
export async function startFakeTikv(opts: FakeTikvOptions = {}): Promise<FakeTikv> {
  const clusterId = opts.clusterId ?? 7_000_000_000_000_000_123n;
  const nStores = opts.stores ?? 3;
  const mvcc = new Mvcc();
  let nextId = 1000n;
  let offset = 0;
  let lastPhysical = 0n;
  let logical = 0n;
  const tso = (count = 1): bigint => {
    let physical = BigInt(Date.now() + offset);
    if (physical <= lastPhysical) physical = lastPhysical;
    else logical = 0n;
    lastPhysical = physical;
    logical += BigInt(count);
    return composeTs(physical, logical);
  };
  const storeIds = Array.from({ length: nStores }, (_, i) => BigInt(i + 1));
  const peersFor = () => storeIds.map((storeId) => ({ id: nextId++, storeId }));
  const bounds = [...(opts.splitKeys ?? [])].sort(Buffer.compare);
  let regions: FakeRegionInfo[] = [];
  for (let i = 0; i <= bounds.length; i++) {
    regions.push({
      id: nextId++,
      start: i === 0 ? Buffer.alloc(0) : bounds[i - 1]!,
      end: i === bounds.length ? Buffer.alloc(0) : bounds[i]!,
      version: 1n,
      confVer: 1n,
      leaderStoreId: storeIds[i % nStores]!,
      peers: peersFor(),
    });
  }
  let pdView: FakeRegionInfo[] | undefined;
  let pdLeaderless = false;
  const notLeader = () => {
    const e = new Error('not leader') as grpc.ServiceError;
    e.code = grpc.status.UNAVAILABLE;
    return e;
  };
  const faults: Array<FakeFault & { left: number }> = [];
  const counts = new Map<string, number>();

  const takeFault = (method: string, regionId?: bigint, storeId?: bigint) => {
    const f = faults.find((x) => x.left > 0 && (!x.method || x.method === method) && (!x.regionId || x.regionId === regionId) && (!x.storeId || x.storeId === storeId));
    if (f) f.left--;
    return f;
  };

  // ---- PD
  const pd = new grpc.Server();
  const pdHeader = () => ({ cluster_id: s(clusterId) });
  const checkCluster = (req: any) => {
    if (u64(req.header?.cluster_id) !== clusterId) {
      const e = new Error('mismatch cluster id') as grpc.ServiceError;
      e.code = grpc.status.FAILED_PRECONDITION;
      throw e;
    }
  };
  const unary = (fn: (req: any) => object | Promise<object>, name: string) => async (callObj: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
    counts.set(name, (counts.get(name) ?? 0) + 1);
    try {
      cb(null, await fn(callObj.request));
    } catch (err) {
      cb(err as grpc.ServiceError);
    }
  };
  let pdPort = 0;
  pd.addService(PdService.service, {
    GetMembers: unary(() => {
      const m = { name: 'pd-1', member_id: '1', client_urls: [`http://127.0.0.1:${pdPort}`], peer_urls: [] };
      return pdLeaderless ? { header: pdHeader(), members: [m] } : { header: pdHeader(), members: [m], leader: m };
    }, 'GetMembers'),
    GetRegion: unary((req) => {
      if (pdLeaderless) throw notLeader();
      checkCluster(req);
      const key = decodeKey(req.region_key);
      const r = (pdView ?? regions).find((x) => contains(x, key));
      return r ? { header: pdHeader(), region: regionPb(r), leader: leaderPeer(r) } : { header: pdHeader() };
    }, 'GetRegion'),
    GetStore: unary((req) => {
      if (pdLeaderless) throw notLeader();
      checkCluster(req);
      const st = stores.find((x) => x.id === u64(req.store_id));
      return st ? { header: pdHeader(), store: { id: s(st.id), address: st.address } } : { header: { ...pdHeader(), error: { type: 1, message: `invalid store ID ${req.store_id}, not found` } } };
    }, 'GetStore'),
    Tso: (stream: grpc.ServerDuplexStream<any, any>) => {
      stream.on('data', (req: any) => {
        counts.set('Tso', (counts.get('Tso') ?? 0) + 1);
        const count = Math.max(1, Number(req.count ?? 1));
        // PD's answer without a leader: a header error on the stream (the client retries).
        if (pdLeaderless) return void stream.write({ header: { ...pdHeader(), error: { type: 1, message: 'not leader' } }, count });
        const ts = tso(count);
        stream.write({ header: pdHeader(), count, timestamp: { physical: s(ts >> 18n), logical: s(ts & 0x3ffffn) } });
      });
      stream.on('end', () => stream.end());
      stream.on('error', () => undefined);
    },
  });
  pdPort = await listen(pd);

  // ---- TiKV stores
  const stores: Array<{ id: bigint; address: string; server: grpc.Server }> = [];
  for (const id of storeIds) {
    const server = new grpc.Server();
    const handlers: Record<string, grpc.handleUnaryCall<any, any>> = {};
    for (const [method, fn] of Object.entries(kvHandlers())) {
      handlers[method] = async (callObj, cb) => {
        counts.set(method, (counts.get(method) ?? 0) + 1);
        const req = callObj.request;
        const fail = (code: grpc.status, msg: string) => {
          const e = new Error(msg) as grpc.ServiceError;
          e.code = code;
          cb(e);
        };
        const ctx = req.context ?? {};
        if (u64(ctx.cluster_id) !== 0n && u64(ctx.cluster_id) !== clusterId) return fail(grpc.status.INVALID_ARGUMENT, 'cluster id mismatch');
        const regionId = u64(ctx.region_id);
        const fault = takeFault(method, regionId, id);
        const region = regions.find((r) => r.id === regionId);
        if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));
        if (fault?.kind === 'unavailable') return fail(grpc.status.UNAVAILABLE, 'injected: store unavailable');
        const regionError = validate(id, ctx, region, method, req) ?? injected(fault, region);
        if (regionError) return cb(null, { region_error: regionError });
        try {
          const res = fn(req, region!);
          if (fault?.kind === 'drop_reply') return fail(grpc.status.UNAVAILABLE, 'injected: reply lost after apply');
          cb(null, res);
        } catch (err) {
          fail(grpc.status.INTERNAL, (err as Error).message);
        }
      };
    }
    server.addService(TikvService.service, handlers);
    const port = await listen(server);
    stores.push({ id, address: `127.0.0.1:${port}`, server });
  }

  function injected(f: (FakeFault & { left: number }) | undefined, r: FakeRegionInfo | undefined): object | undefined {
    if (!f || !r) return undefined;
    switch (f.kind) {
      case 'not_leader':
        return { not_leader: { region_id: s(r.id), leader: leaderPeer(r) } };
      case 'epoch_not_match':
        return { epoch_not_match: { current_regions: [regionPb(r)] } };
      case 'server_is_busy':
        return { server_is_busy: { reason: 'injected', backoff_ms: '5' } };
      case 'stale_command':
        return { stale_command: {} };
      case 'region_not_found':
        return { region_not_found: { region_id: s(r.id) } };
      default:
        return undefined;
    }
  }

  /** §7.3 validation, in order. */
  function validate(storeId: bigint, ctx: any, r: FakeRegionInfo | undefined, method: string, req: any): object | undefined {
    if (ctx.peer && u64(ctx.peer.store_id) !== storeId) return { store_not_match: { request_store_id: s(u64(ctx.peer.store_id)), actual_store_id: s(storeId) } };
    if (!r || !r.peers.some((p) => p.storeId === storeId)) return { region_not_found: { region_id: s(u64(ctx.region_id)) } };
    if (r.leaderStoreId !== storeId) return { not_leader: { region_id: s(r.id), leader: leaderPeer(r) } };
    if (!ctx.region_epoch) return { message: 'missing epoch!' };
    if (u64(ctx.region_epoch.version) !== r.version) {
      return { epoch_not_match: { current_regions: regions.filter((x) => x.id === r.id || Buffer.compare(x.end, r.start) === 0 || Buffer.compare(x.start, r.end) === 0).map(regionPb) } };
    }
    const keys: Buffer[] = [];
    if (method === 'KvGet') keys.push(req.key);
    if (['KvBatchGet', 'KvCommit', 'KvBatchRollback', 'KvResolveLock', 'KvCheckSecondaryLocks'].includes(method)) keys.push(...(req.keys ?? []));
    if (method === 'KvPrewrite') keys.push(...(req.mutations ?? []).map((m: any) => m.key));
    if (method === 'KvScan' || method === 'KvDeleteRange') keys.push(req.start_key ?? Buffer.alloc(0));
    if (method === 'KvCheckTxnStatus') keys.push(req.primary_key);
    const outside = keys.find((k) => !contains(r, Buffer.from(k ?? [])));
    if (outside)
      return { key_not_in_region: { key: outside, region_id: s(r.id), start_key: r.start.length ? encodeKey(r.start) : Buffer.alloc(0), end_key: r.end.length ? encodeKey(r.end) : Buffer.alloc(0) } };
    return undefined;
  }

  function kvHandlers(): Record<string, (req: any, r: FakeRegionInfo) => object> {
    const ts = (v: any) => u64(v);
    const ctxLists = (req: any) => ({ resolved: (req.context?.resolved_locks ?? []).map(u64), committed: (req.context?.committed_locks ?? []).map(u64) });
    return {
      KvGet: (req) => {
        const { resolved, committed } = ctxLists(req);
        const r = mvcc.read(req.key, ts(req.version), resolved, committed);
        if (r.locked) return { error: { locked: r.locked } };
        return r.value ? { value: r.value } : { not_found: true };
      },
      KvBatchGet: (req) => {
        const { resolved, committed } = ctxLists(req);
        const pairs: object[] = [];
        for (const k of req.keys ?? []) {
          const r = mvcc.read(k, ts(req.version), resolved, committed);
          if (r.locked) pairs.push({ error: { locked: r.locked } });
          else if (r.value) pairs.push({ key: k, value: r.value });
        }
        return { pairs };
      },
      KvScan: (req, region) => {
        if (req.reverse) return { error: { abort: 'reverse scan is not supported by the fake' } };
        const { resolved, committed } = ctxLists(req);
        const limit = Number(req.limit ?? 0);
        const end = req.end_key?.length ? (region.end.length && Buffer.compare(region.end, req.end_key) < 0 ? region.end : req.end_key) : region.end;
        const pairs: object[] = [];
        if (limit === 0) return { pairs };
        for (const e of mvcc.range(req.start_key ?? Buffer.alloc(0), end)) {
          const r = mvcc.read(e.key, ts(req.version), resolved, committed);
          if (r.locked) pairs.push({ error: { locked: r.locked } });
          else if (r.value) pairs.push({ key: e.key, value: req.key_only ? Buffer.alloc(0) : r.value });
          else continue;
          if (pairs.length >= limit) break;
        }
        return { pairs };
      },
      KvPrewrite: (req) => ({
        errors: mvcc.prewrite({
          mutations: (req.mutations ?? []).map((m: any) => ({ op: Number(m.op ?? 0), key: m.key, value: m.value })),
          primary: req.primary_lock,
          startTs: ts(req.start_version),
          ttl: ts(req.lock_ttl),
          minCommitTs: ts(req.min_commit_ts),
          txnSize: ts(req.txn_size),
        }),
      }),
      KvCommit: (req) => {
        for (const k of req.keys ?? []) {
          const e = mvcc.commit(k, ts(req.start_version), ts(req.commit_version));
          if (e) return { error: e };
        }
        return { commit_version: req.commit_version };
      },
      KvBatchRollback: (req) => {
        for (const k of req.keys ?? []) {
          const e = mvcc.rollback(k, ts(req.start_version));
          if (e) return { error: e };
        }
        return {};
      },
      KvCheckTxnStatus: (req) => mvcc.checkTxnStatus(req.primary_key, ts(req.lock_ts), ts(req.caller_start_ts), ts(req.current_ts), Boolean(req.rollback_if_not_exist)),
      KvResolveLock: (req, region) => {
        const startTs = ts(req.start_version);
        const commitTs = ts(req.commit_version);
        const keys: Buffer[] = req.keys?.length
          ? req.keys
          : mvcc
              .range(region.start, region.end)
              .filter((e) => e.lock?.startTs === startTs)
              .map((e) => e.key);
        for (const k of keys) {
          const e = commitTs > 0n ? mvcc.commit(k, startTs, commitTs) : mvcc.rollback(k, startTs);
          if (e && !('txn_lock_not_found' in e)) return { error: e };
        }
        return {};
      },
      KvCheckSecondaryLocks: (req) => mvcc.checkSecondaryLocks(req.keys ?? [], ts(req.start_version)),
      KvDeleteRange: (req) => {
        for (const e of mvcc.range(req.start_key, req.end_key)) {
          e.lock = undefined;
          e.writes = [];
        }
        return {};
      },
    };
  }

  return {
    pdEndpoint: `127.0.0.1:${pdPort}`,
    clusterId,
    stores: stores.map(({ id, address }) => ({ id, address })),
    regions: () => regions.map((r) => ({ ...r, peers: [...r.peers] })),
    split(rawKey) {
      const r = regions.find((x) => contains(x, rawKey));
      if (!r || r.start.equals(rawKey)) return;
      // TiKV keeps the original id on the right-hand side; both sides get a new version.
      const left: FakeRegionInfo = { ...r, id: nextId++, end: Buffer.from(rawKey), version: r.version + 1n, peers: peersFor() };
      const right: FakeRegionInfo = { ...r, start: Buffer.from(rawKey), version: r.version + 1n };
      regions = [...regions.filter((x) => x !== r), left, right].sort((a, b) => Buffer.compare(a.start, b.start));
    },
    transferLeader(regionId, storeId) {
      const r = regions.find((x) => x.id === regionId);
      if (r) r.leaderStoreId = storeId;
    },
    setPdLeaderless(lost) {
      pdLeaderless = lost;
    },
    setPdStale(stale) {
      pdView = stale ? regions.map((r) => ({ ...r })) : undefined;
    },
    injectFault(f) {
      faults.push({ ...f, left: f.count ?? 1 });
    },
    clearFaults() {
      faults.length = 0;
    },
    advanceClock(ms) {
      offset += ms;
    },
    nowTs: () => tso(1),
    seedLock(key, lock) {
      mvcc.entry(key, true)!.lock = { type: 'put', ...lock };
    },
    seedWrite(key, w) {
      const e = mvcc.entry(key, true)!;
      e.writes.unshift(w);
      e.writes.sort((a, b) => (a.commitTs > b.commitTs ? -1 : a.commitTs < b.commitTs ? 1 : 0));
    },
    inspect(key) {
      const e = mvcc.entry(key);
      return { lock: e?.lock, writes: e ? [...e.writes] : [] };
    },
    calls: (m) => counts.get(m) ?? 0,
    async close() {
      for (const st of stores) st.server.forceShutdown();
      pd.forceShutdown();
    },
  };
}
