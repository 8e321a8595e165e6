/**
 * `etcd://host:port[,host:port]/<name>`: real etcd v3 through the `etcd3` package.
 *
 * Transactions work the way JuiceFS's own etcd engine does: reads happen at one revision (the
 * snapshot), each key read remembers its `mod_revision`, and the commit is a single etcd `Txn`
 * whose compares require every such key to be unchanged (and every scanned range to hold no key
 * modified after the snapshot). A failed compare is a {@link KvConflictError}.
 *
 * etcd refuses transactions of more than `--max-txn-ops` operations (128 by default). JuiceFS
 * splits big transactions silently; we refuse them with a clear error instead, because a split
 * commit is not atomic. Callers that write a lot (the fixture builder) batch their own writes.
 */
import { Etcd3, type ICompare, type IOptions } from 'etcd3';
import { KvConflictError, KvEngineError, KvUnavailableError, hexKey, type KvEngine, type KvPair, type KvTxn, type ScanOptions, type TxnOptions } from '../kv.js';
import { runTxn, toBuffer, TxnBuffer, type TxnSource } from '../txn-buffer.js';

/**
 * What etcd3 says when no etcd answered: its gRPC connect/unavailable errors, and the circuit
 * breaker it opens after a few of them (until it half-opens and tries again).
 */
const UNREACHABLE = /GRPCConnectFailed|GRPCUnavailable|circuit breaker is open|No connection established|ECONNREFUSED|ECONNRESET|EHOSTUNREACH/i;

/** Options of the etcd engine. */
export interface EtcdEngineOptions {
  /** `host:port` or full `http(s)://host:port` endpoints. */
  endpoints: string[];
  auth?: { username: string; password: string };
  /** The server's `--max-txn-ops` (default 128). */
  maxTxnOps?: number;
  /** Deadline of each call, ms (default 10 s). */
  callTimeoutMs?: number;
}

/** The etcd snapshot of one transaction: fixed at its first read. */
interface Snapshot {
  revision: bigint | undefined;
}

const ZERO = Buffer.from([0]);

/** Ordered KV engine over etcd v3. */
export class EtcdEngine implements KvEngine {
  readonly kind = 'etcd';
  private readonly client: Etcd3;
  private readonly maxTxnOps: number;
  private readonly callTimeoutMs: number;

  constructor(opts: EtcdEngineOptions) {
    const hosts = opts.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
    // Unpaged reads of a whole volume can be far above gRPC's 4 MiB default receive limit.
    const options: IOptions = { hosts, dialTimeout: 3000, grpcOptions: { 'grpc.max_receive_message_length': -1 } };
    if (opts.auth) options.auth = opts.auth;
    this.client = new Etcd3(options);
    this.maxTxnOps = opts.maxTxnOps ?? 128;
    this.callTimeoutMs = opts.callTimeoutMs ?? 10_000;
  }

  private deadline() {
    return { deadline: Date.now() + this.callTimeoutMs };
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof KvConflictError || err instanceof KvEngineError) throw err;
      const Failure = UNREACHABLE.test(`${(err as Error).name} ${(err as Error).message}`) ? KvUnavailableError : KvEngineError;
      throw new Failure(`etcd ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const res = await this.call('get', () => this.client.kv.range({ key: toBuffer(key) }, this.deadline()));
    return res.kvs[0]?.value;
  }

  async batchGet(keys: Uint8Array[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    // One etcd Txn of range operations per chunk: a consistent multi-get in one round trip.
    const chunks: Uint8Array[][] = [];
    for (let i = 0; i < keys.length; i += this.maxTxnOps) chunks.push(keys.slice(i, i + this.maxTxnOps));
    await Promise.all(
      chunks.map(async (chunk) => {
        const res = await this.call('batch get', () => this.client.kv.txn({ success: chunk.map((k) => ({ request_range: { key: toBuffer(k) } })) }, this.deadline()));
        for (const r of res.responses) {
          const kv = r.response_range?.kvs[0];
          if (kv) out.set(hexKey(kv.key), kv.value);
        }
      }),
    );
    return out;
  }

  scan(start: Uint8Array, end: Uint8Array, opts: ScanOptions = {}): AsyncIterable<KvPair> {
    return this.scanAt({ revision: undefined }, start, end, opts);
  }

  /**
   * Pages through `[start, end)` at one revision. Note that etcd 3.4 counts the whole remaining
   * range on every limited request, so callers scanning a big range should split it into
   * narrower ranges (the walk does) rather than rely on the page size.
   */
  private async *scanAt(snap: Snapshot, start: Uint8Array, end: Uint8Array, opts: ScanOptions): AsyncIterable<KvPair & { version: bigint }> {
    const pageSize = Math.max(1, opts.pageSize ?? 1000);
    const rangeEnd = end.length > 0 ? toBuffer(end) : ZERO;
    let cursor = toBuffer(start);
    let emitted = 0;
    for (;;) {
      opts.signal?.throwIfAborted();
      const res = await this.call('scan', () =>
        this.client.kv.range(
          {
            key: cursor,
            range_end: rangeEnd,
            limit: pageSize,
            keys_only: opts.keysOnly ?? false,
            ...(snap.revision !== undefined ? { revision: snap.revision.toString() } : {}),
          },
          this.deadline(),
        ),
      );
      snap.revision ??= BigInt(res.header.revision);
      for (const kv of res.kvs) {
        yield { key: kv.key, value: opts.keysOnly ? new Uint8Array(0) : kv.value, version: BigInt(kv.mod_revision) };
        if (opts.limit !== undefined && ++emitted >= opts.limit) return;
      }
      if (!res.more || res.kvs.length === 0) return;
      cursor = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, ZERO]);
    }
  }

  private readonly source: TxnSource<Snapshot> = {
    readAt: async (snap, key) => {
      const res = await this.call('get', () => this.client.kv.range({ key: toBuffer(key), ...(snap.revision !== undefined ? { revision: snap.revision.toString() } : {}) }, this.deadline()));
      snap.revision ??= BigInt(res.header.revision);
      const kv = res.kvs[0];
      return { value: kv?.value, version: kv ? BigInt(kv.mod_revision) : 0n };
    },
    scanAt: (snap, start, end, opts) => this.scanAt(snap, start, end, opts),
  };

  async txn<T>(fn: (txn: KvTxn) => Promise<T>, opts: TxnOptions = {}): Promise<T> {
    return runTxn(
      () => new TxnBuffer<Snapshot>(this.source, { revision: undefined }),
      fn,
      (t) => this.commit(t),
      opts,
    );
  }

  private async commit(t: TxnBuffer<Snapshot>): Promise<void> {
    if (t.writeCount() === 0) return; // read-only: its reads were one consistent revision
    const compare: ICompare[] = [];
    for (const r of t.readRecords()) {
      compare.push({ key: r.key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: (r.version ?? 0n).toString() });
    }
    const rev = t.snapshot.revision;
    if (rev !== undefined) {
      for (const [s, e] of t.readRanges()) {
        // No key in the range may have been modified (or created) after the snapshot.
        compare.push({ key: s, range_end: e.length > 0 ? e : ZERO, target: 'Mod' as const, result: 'Less' as const, mod_revision: (rev + 1n).toString() });
      }
    }
    const success = [...t.writeEntries()].map(([key, value]) => (value === null ? { request_delete_range: { key } } : { request_put: { key, value: toBuffer(value) } }));
    if (success.length > this.maxTxnOps || compare.length > this.maxTxnOps) {
      throw new KvEngineError(
        `etcd transaction too large: ${success.length} writes and ${compare.length} compares (etcd --max-txn-ops is ${this.maxTxnOps}); split the work into smaller transactions`,
      );
    }
    const res = await this.call('commit', () => this.client.kv.txn({ compare, success }, this.deadline()));
    if (!res.succeeded) throw new KvConflictError();
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
