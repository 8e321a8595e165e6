/**
 * The client side of an optimistic transaction, shared by the engines: it buffers writes,
 * answers reads from its own writes first (read-your-writes), and records what was read so the
 * engine can validate it at commit. Engines differ only in how they read and how they commit.
 */
import { KvConflictError, compareKeys, hexKey, type KvPair, type KvTxn, type ScanOptions, type TxnOptions } from './kv.js';

/** A point read as an engine sees it: the value plus the engine's version of the key, if it has one. */
export interface VersionedValue {
  value: Uint8Array | undefined;
  /** etcd: the key's mod_revision (0 when absent). Engines validating by sequence leave it out. */
  version?: bigint;
}

/** How a transaction reads committed data from its engine. */
export interface TxnSource<S> {
  readAt(snapshot: S, key: Uint8Array): Promise<VersionedValue>;
  scanAt(snapshot: S, start: Uint8Array, end: Uint8Array, opts: ScanOptions): AsyncIterable<KvPair & { version?: bigint }>;
}

/** A key read by the transaction, with the version it had then. */
export interface ReadRecord {
  key: Buffer;
  version: bigint | undefined;
}

/** Buffered transaction state; the engine's commit reads it. */
export class TxnBuffer<S> implements KvTxn {
  private readonly reads = new Map<string, ReadRecord>();
  private readonly ranges: Array<[Buffer, Buffer]> = [];
  private readonly writes = new Map<string, { key: Buffer; value: Uint8Array | null }>();

  constructor(
    private readonly source: TxnSource<S>,
    /** The engine's snapshot: a sequence number, a revision, a timestamp. */
    readonly snapshot: S,
  ) {}

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const hex = hexKey(key);
    const w = this.writes.get(hex);
    if (w) return w.value ?? undefined;
    const r = await this.source.readAt(this.snapshot, key);
    if (!this.reads.has(hex)) this.reads.set(hex, { key: toBuffer(key), version: r.version });
    return r.value;
  }

  async batchGet(keys: Uint8Array[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    const values = await Promise.all(keys.map((k) => this.get(k)));
    keys.forEach((k, i) => {
      const v = values[i];
      if (v) out.set(hexKey(k), v);
    });
    return out;
  }

  async *scan(start: Uint8Array, end: Uint8Array, opts: ScanOptions = {}): AsyncIterable<KvPair> {
    this.ranges.push([toBuffer(start), toBuffer(end)]);
    const inRange = (k: Uint8Array) => compareKeys(k, start) >= 0 && (end.length === 0 || compareKeys(k, end) < 0);
    // Own writes in range, sorted, merged with the committed stream in key order.
    const own = [...this.writes.values()].filter((w) => inRange(w.key)).sort((a, b) => compareKeys(a.key, b.key));
    let i = 0;
    let emitted = 0;
    const emit = (_w: unknown): boolean => {
      emitted++;
      return opts.limit !== undefined && emitted >= opts.limit;
    };
    for await (const p of this.source.scanAt(this.snapshot, start, end, { ...opts, limit: undefined })) {
      const hex = hexKey(p.key);
      if (!this.reads.has(hex)) this.reads.set(hex, { key: toBuffer(p.key), version: p.version });
      while (i < own.length && compareKeys(own[i]!.key, p.key) < 0) {
        const w = own[i++]!;
        if (w.value === null) continue;
        yield { key: w.key, value: opts.keysOnly ? new Uint8Array(0) : w.value };
        if (emit(w)) return;
      }
      if (i < own.length && compareKeys(own[i]!.key, p.key) === 0) {
        const w = own[i++]!;
        if (w.value === null) continue;
        yield { key: w.key, value: opts.keysOnly ? new Uint8Array(0) : w.value };
      } else {
        yield { key: p.key, value: p.value };
      }
      if (opts.limit !== undefined && ++emitted >= opts.limit) return;
    }
    for (; i < own.length; i++) {
      const w = own[i]!;
      if (w.value === null) continue;
      yield { key: w.key, value: opts.keysOnly ? new Uint8Array(0) : w.value };
      if (emit(w)) return;
    }
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.writes.set(hexKey(key), { key: toBuffer(key), value: Uint8Array.from(value) });
  }

  delete(key: Uint8Array): void {
    this.writes.set(hexKey(key), { key: toBuffer(key), value: null });
  }

  /** Keys read, with the version each had when first read. */
  readRecords(): Iterable<ReadRecord> {
    return this.reads.values();
  }

  /** Keys read (point reads and every key a scan returned). */
  *readKeys(): Iterable<Buffer> {
    for (const r of this.reads.values()) yield r.key;
  }

  /** Ranges scanned, as `[start, end)` (empty end: unbounded). */
  readRanges(): ReadonlyArray<[Buffer, Buffer]> {
    return this.ranges;
  }

  /** Buffered writes in insertion order; `null` is a delete. */
  *writeEntries(): Iterable<[Buffer, Uint8Array | null]> {
    for (const w of this.writes.values()) yield [w.key, w.value];
  }

  writeCount(): number {
    return this.writes.size;
  }
}

/**
 * Runs `fn` in a fresh transaction and commits it, retrying on {@link KvConflictError} up to
 * `opts.retries` times with a short random backoff (JuiceFS does the same on write conflicts).
 */
export async function runTxn<T, S>(
  begin: () => TxnBuffer<S> | Promise<TxnBuffer<S>>,
  fn: (txn: KvTxn) => Promise<T>,
  commit: (t: TxnBuffer<S>) => void | Promise<void>,
  opts: TxnOptions = {},
): Promise<T> {
  const retries = opts.retries ?? 0;
  for (let attempt = 0; ; attempt++) {
    const t = await begin();
    const result = await fn(t);
    try {
      await commit(t);
      return result;
    } catch (err) {
      if (!(err instanceof KvConflictError) || attempt >= retries) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * (attempt + 1) ** 2));
    }
  }
}

/** A Buffer view of bytes without copying. */
export function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
