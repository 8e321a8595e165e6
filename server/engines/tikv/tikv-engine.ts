/**
 * `tikv://pd1:2379,pd2:2379/<prefix>`: the ordered-KV port over TiKV's transactional API.
 *
 * Reads outside a transaction use a fresh timestamp each (a long walk never holds one snapshot
 * long enough to meet JuiceFS's GC safe point). A transaction reads at its start timestamp and
 * commits with 2PC; keys it only read are prewritten as `Lock` mutations, so a concurrent change to
 * them is a write conflict, and ranges it scanned are re-read at the commit timestamp and must be
 * unchanged, so it is serializable like the other engines, not just snapshot-isolated.
 */
import { createHash } from 'node:crypto';
import { hexKey, type KvEngine, type KvPair, type KvTxn, type ScanOptions, type TxnOptions } from '../kv.js';
import { runTxn, toBuffer, TxnBuffer, type TxnSource } from '../txn-buffer.js';
import { TikvClient, digestPair, type Mutation, type ScannedRange } from './tikv-client.js';

interface Snapshot {
  startTs: bigint;
  scanned: ScannedRange[];
}

/** Ordered KV engine over TiKV. */
export class TikvEngine implements KvEngine {
  readonly kind = 'tikv';
  readonly client: TikvClient;

  constructor(opts: { pdEndpoints: string[]; opTimeoutMs?: number }) {
    this.client = new TikvClient(opts.pdEndpoints, { opTimeoutMs: opts.opTimeoutMs });
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.client.get(key, await this.client.tso());
  }

  async batchGet(keys: Uint8Array[]): Promise<Map<string, Uint8Array>> {
    if (keys.length === 0) return new Map();
    return this.client.batchGet(keys, await this.client.tso());
  }

  async *scan(start: Uint8Array, end: Uint8Array, opts: ScanOptions = {}): AsyncIterable<KvPair> {
    let n = 0;
    const ts = await this.client.tso();
    for await (const p of this.client.scan(start, end, ts, opts)) {
      yield p;
      if (opts.limit !== undefined && ++n >= opts.limit) return;
    }
  }

  private readonly source: TxnSource<Snapshot> = {
    readAt: async (snap, key) => ({ value: await this.client.get(key, snap.startTs) }),
    scanAt: (snap, start, end, opts) => this.trackedScan(snap, toBuffer(start), toBuffer(end), opts),
  };

  /** A scan inside a transaction: records what part of the range it saw, and a digest of it. */
  private async *trackedScan(snap: Snapshot, start: Buffer, end: Buffer, opts: ScanOptions): AsyncIterable<KvPair> {
    const h = createHash('sha256');
    let last: Buffer | undefined;
    let complete = false;
    try {
      for await (const p of this.client.scan(start, end, snap.startTs, { ...opts, keysOnly: false })) {
        digestPair(h, p);
        last = toBuffer(p.key);
        yield opts.keysOnly ? { key: p.key, value: new Uint8Array(0) } : p;
      }
      complete = true;
    } finally {
      // Only the part actually consumed must stay unchanged.
      const seenEnd = complete ? end : last ? Buffer.concat([last, Buffer.from([0])]) : start;
      snap.scanned.push({ start, end: seenEnd, digest: h.digest('hex') });
    }
  }

  async txn<T>(fn: (txn: KvTxn) => Promise<T>, opts: TxnOptions = {}): Promise<T> {
    return runTxn(
      async () => new TxnBuffer<Snapshot>(this.source, { startTs: await this.client.tso(), scanned: [] }),
      fn,
      async (t) => {
        if (t.writeCount() === 0) return;
        const written = new Set<string>();
        const mutations: Mutation[] = [];
        for (const [key, value] of t.writeEntries()) {
          written.add(hexKey(key));
          mutations.push({ key, value });
        }
        for (const k of t.readKeys()) if (!written.has(hexKey(k))) mutations.push({ key: k, value: null, lock: true });
        await this.client.commit(
          t.snapshot.startTs,
          mutations,
          t.snapshot.scanned.filter((r) => r.end.length === 0 || Buffer.compare(r.start, r.end) < 0),
        );
      },
      opts,
    );
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
