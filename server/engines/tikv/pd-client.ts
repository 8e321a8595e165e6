/**
 * PD client: finds the PD leader (`GetMembers`), hands out timestamps from one `Tso` stream
 * (concurrent callers batched into one request), and looks up regions and stores. On any PD
 * error it rediscovers the leader over every known member URL and retries within a deadline.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeBoundary, encodeKey } from './codec.js';
import { PdService, channelOptions, composeTs, u64 } from './protocol.js';
import { BACKOFF, Backoffer } from './backoff.js';
import { TikvError } from './tikv-errors.js';

/** A region as the client uses it: raw (decoded) boundaries. */
export interface RegionInfo {
  id: bigint;
  start: Buffer;
  end: Buffer;
  confVer: bigint;
  version: bigint;
  leader: { id: bigint; storeId: bigint };
  peers: Array<{ id: bigint; storeId: bigint; role?: number }>;
}

type Unary = (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void) => void;

/** Decodes a metapb.Region (+ leader) into a {@link RegionInfo}. */
export function toRegionInfo(region: any, leader: any): RegionInfo {
  const peers = (region.peers ?? []).map((p: any) => ({ id: u64(p.id), storeId: u64(p.store_id), role: p.role }));
  const lead = leader && u64(leader.store_id) !== 0n ? { id: u64(leader.id), storeId: u64(leader.store_id) } : (peers.find((p: any) => !p.role) ?? peers[0]);
  if (!lead) throw new TikvError('region_without_peers', `region ${region.id} has no peers`);
  return {
    id: u64(region.id),
    start: decodeBoundary(region.start_key),
    end: decodeBoundary(region.end_key),
    confVer: u64(region.region_epoch?.conf_ver),
    version: u64(region.region_epoch?.version),
    leader: lead,
    peers,
  };
}

/** Client of the PD cluster. */
export class PdClient {
  private urls: string[];
  private client: grpc.Client | undefined;
  private leaderUrl = '';
  clusterId = 0n;
  private tsoStream: grpc.ClientDuplexStream<any, any> | undefined;
  private tsoWaiting: Array<{ count: number; resolve: (last: bigint) => void; reject: (e: Error) => void }> = [];
  private tsoQueue: Array<{ resolve: (ts: bigint) => void; reject: (e: Error) => void }> = [];
  private tsoScheduled = false;
  private closed = false;

  constructor(
    endpoints: string[],
    private readonly timeoutMs = 15_000,
  ) {
    this.urls = endpoints.map((e) => e.replace(/^https?:\/\//, ''));
  }

  /** Finds the leader and the cluster id (idempotent). */
  async connect(): Promise<void> {
    if (this.client) return;
    let lastErr: unknown;
    for (const url of this.urls) {
      const c = new PdService(url, grpc.credentials.createInsecure(), channelOptions);
      try {
        const res = await call(c, 'GetMembers', { header: {} }, 5000);
        const leaderUrls: string[] = res.leader?.client_urls ?? [];
        for (const m of res.members ?? []) for (const u of m.client_urls ?? []) this.addUrl(u);
        this.clusterId = u64(res.header?.cluster_id);
        const leader = (leaderUrls[0] ?? url).replace(/^https?:\/\//, '');
        if (leader === url) {
          this.client = c;
        } else {
          c.close();
          this.client = new PdService(leader, grpc.credentials.createInsecure(), channelOptions);
        }
        this.leaderUrl = leader;
        return;
      } catch (err) {
        c.close();
        lastErr = err;
      }
    }
    throw new TikvError('pd_unavailable', `no PD member answered at ${this.urls.join(',')}: ${(lastErr as Error)?.message}`);
  }

  private addUrl(u: string): void {
    const bare = u.replace(/^https?:\/\//, '');
    if (!this.urls.includes(bare)) this.urls.push(bare);
  }

  /** Drops the leader connection so the next call rediscovers it. */
  private reset(): void {
    this.tsoStream?.cancel();
    this.tsoStream = undefined;
    this.client?.close();
    this.client = undefined;
  }

  /** Runs a unary PD call on the leader, rediscovering it on failure, within the deadline. */
  private async unary(method: string, body: object): Promise<any> {
    let last: unknown;
    const bo = new Backoffer(this.timeoutMs, (summary) => (last instanceof TikvError ? last : new TikvError('pd_unavailable', `PD ${method} failed after ${summary}`, { cause: last })));
    for (;;) {
      try {
        await this.connect();
        const res = await call(this.client!, method, { header: { cluster_id: this.clusterId.toString() }, ...body }, 5000);
        const e = res.header?.error;
        if (e && e.type) throw new TikvError('pd_error', `PD ${method}: ${e.message ?? e.type}`, { pdErrorType: e.type });
        return res;
      } catch (err) {
        const code = (err as grpc.ServiceError).code;
        if (code === grpc.status.FAILED_PRECONDITION) throw new TikvError('pd_cluster_mismatch', `PD ${method}: ${(err as Error).message}`);
        if (err instanceof TikvError && err.pdErrorType === 1 && method === 'GetStore') throw err;
        this.reset();
        last = err;
        // A retry needs time to be worth it: with under half a second left, give up now.
        if (bo.expired(500) || this.closed) throw err instanceof TikvError ? err : new TikvError('pd_unavailable', `PD ${method} failed: ${(err as Error).message}`);
        await bo.backoff(BACKOFF.pdRpc, (err as Error).message);
      }
    }
  }

  /** The region holding raw key `key` (or undefined when PD has none yet). */
  async getRegion(key: Uint8Array): Promise<RegionInfo | undefined> {
    const res = await this.unary('GetRegion', { region_key: encodeKey(key) });
    return res.region ? toRegionInfo(res.region, res.leader) : undefined;
  }

  /** The client address (host:port) of a store. */
  async getStoreAddress(storeId: bigint): Promise<string> {
    const res = await this.unary('GetStore', { store_id: storeId.toString() });
    const s = res.store;
    if (!s?.address || s.state === 2) throw new TikvError('store_unavailable', `store ${storeId} has no usable address`);
    return s.address as string;
  }

  /** A fresh timestamp; concurrent callers share one TSO request. */
  tso(): Promise<bigint> {
    return new Promise((resolve, reject) => {
      this.tsoQueue.push({ resolve, reject });
      if (!this.tsoScheduled) {
        this.tsoScheduled = true;
        queueMicrotask(() => void this.flushTso());
      }
    });
  }

  private async flushTso(): Promise<void> {
    this.tsoScheduled = false;
    const batch = this.tsoQueue.splice(0);
    if (batch.length === 0) return;
    const bo = new Backoffer(this.timeoutMs, (summary) => new TikvError('tso_unavailable', `TSO failed after ${summary}`));
    for (;;) {
      try {
        const last = await this.requestTso(batch.length);
        // The response is the last of `count` consecutive timestamps.
        batch.forEach((w, i) => w.resolve(last - BigInt(batch.length - 1 - i)));
        return;
      } catch (err) {
        this.reset();
        try {
          if (bo.expired(200) || this.closed) throw new TikvError('tso_unavailable', `TSO failed: ${(err as Error).message}`);
          await bo.backoff(BACKOFF.tso, (err as Error).message);
        } catch (e) {
          for (const w of batch) w.reject(e as Error);
          return;
        }
      }
    }
  }

  private async requestTso(count: number): Promise<bigint> {
    await this.connect();
    if (!this.tsoStream) {
      const stream = (this.client as any).Tso() as grpc.ClientDuplexStream<any, any>;
      stream.on('data', (res: any) => {
        const w = this.tsoWaiting.shift();
        if (!w) return;
        const e = res.header?.error;
        if (e && e.type) return w.reject(new Error(`TSO error: ${e.message}`));
        const ts = res.timestamp;
        w.resolve(composeTs(u64(ts?.physical), u64(ts?.logical)));
      });
      const fail = (err: Error) => {
        if (this.tsoStream === stream) this.tsoStream = undefined;
        for (const w of this.tsoWaiting.splice(0)) w.reject(err);
      };
      stream.on('error', fail);
      stream.on('end', () => fail(new Error('TSO stream ended')));
      this.tsoStream = stream;
    }
    const stream = this.tsoStream;
    return new Promise<bigint>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('TSO request timed out')), 5000);
      this.tsoWaiting.push({
        count,
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      stream.write({ header: { cluster_id: this.clusterId.toString() }, count });
    });
  }

  /** The PD address currently used as leader (for logs). */
  get leader(): string {
    return this.leaderUrl;
  }

  close(): void {
    this.closed = true;
    this.reset();
  }
}

/** Promise wrapper of a unary gRPC call with a deadline. */
export function call(client: grpc.Client, method: string, req: object, timeoutMs: number): Promise<any> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, Unary>)[method]!.call(client, req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}
