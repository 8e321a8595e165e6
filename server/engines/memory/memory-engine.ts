/**
 * In-memory ordered KV engine: the fake behind unit tests and demos. It implements the same
 * optimistic-transaction semantics as the real engines (read set and write set checked against
 * per-key versions at commit), and runs the same contract suite, so it cannot drift from them.
 */
import {
  KvConflictError,
  compareKeys,
  hexKey,
  type KvEngine,
  type KvPair,
  type KvTxn,
  type ScanOptions,
  type TxnOptions,
} from '../kv.js';

interface Entry {
  key: Uint8Array;
  value: Uint8Array;
  version: number;
}

/** Sorted array of entries; binary search keeps get/scan O(log n) and writes O(n) (fine for tests). */
export class MemoryEngine implements KvEngine {
  readonly kind = 'memory';
  private entries: Entry[] = [];
  private clock = 0;
  /** Version of deleted keys, so a delete after a read is still seen as a conflict. */
  private tombstones = new Map<string, number>();

  private find(key: Uint8Array): { index: number; found: boolean } {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareKeys(this.entries[mid]!.key, key);
      if (c === 0) return { index: mid, found: true };
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return { index: lo, found: false };
  }

  private version(key: Uint8Array): number {
    const { index, found } = this.find(key);
    return found ? this.entries[index]!.version : (this.tombstones.get(hexKey(key)) ?? 0);
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const { index, found } = this.find(key);
    return found ? copy(this.entries[index]!.value) : undefined;
  }

  async batchGet(keys: Uint8Array[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (const k of keys) {
      const v = await this.get(k);
      if (v) out.set(hexKey(k), v);
    }
    return out;
  }

  async *scan(start: Uint8Array, end: Uint8Array, opts: ScanOptions = {}): AsyncIterable<KvPair> {
    const pageSize = opts.pageSize ?? 1000;
    let cursor: Uint8Array = Uint8Array.from(start);
    let inclusive = true;
    let emitted = 0;
    for (;;) {
      opts.signal?.throwIfAborted();
      // Re-seek each page, as a real engine would, so concurrent writes between pages behave alike.
      let { index, found } = this.find(cursor);
      if (found && !inclusive) index++;
      const page: KvPair[] = [];
      while (index < this.entries.length && page.length < pageSize) {
        const e = this.entries[index++]!;
        if (end.length > 0 && compareKeys(e.key, end) >= 0) break;
        page.push({ key: copy(e.key), value: opts.keysOnly ? new Uint8Array(0) : copy(e.value) });
      }
      for (const p of page) {
        yield p;
        if (opts.limit !== undefined && ++emitted >= opts.limit) return;
      }
      if (page.length < pageSize) return;
      cursor = page[page.length - 1]!.key;
      inclusive = false;
    }
  }

  async txn<T>(fn: (txn: KvTxn) => Promise<T>, opts: TxnOptions = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const t = new MemoryTxn(this);
      const result = await fn(t);
      try {
        this.commit(t);
        return result;
      } catch (err) {
        if (err instanceof KvConflictError && attempt < (opts.retries ?? 0)) continue;
        throw err;
      }
    }
  }

  /** Checks every key the transaction read or wrote is unchanged since its first read, then applies. */
  private commit(t: MemoryTxn): void {
    for (const [hex, seen] of t.readVersions) {
      if (this.version(Buffer.from(hex, 'hex')) !== seen) throw new KvConflictError();
    }
    for (const [hex, value] of t.writes) {
      const key = new Uint8Array(Buffer.from(hex, 'hex'));
      const version = ++this.clock;
      const { index, found } = this.find(key);
      if (value === null) {
        if (found) this.entries.splice(index, 1);
        this.tombstones.set(hex, version);
      } else if (found) {
        this.entries[index] = { key, value: copy(value), version };
      } else {
        this.entries.splice(index, 0, { key, value: copy(value), version });
      }
    }
  }

  /** @internal used by MemoryTxn to record what it saw. */
  versionOf(key: Uint8Array): number {
    return this.version(key);
  }

  async close(): Promise<void> {}
}

class MemoryTxn implements KvTxn {
  readonly readVersions = new Map<string, number>();
  readonly writes = new Map<string, Uint8Array | null>();
  constructor(private readonly engine: MemoryEngine) {}

  private track(key: Uint8Array): void {
    const hex = hexKey(key);
    if (!this.readVersions.has(hex)) this.readVersions.set(hex, this.engine.versionOf(key));
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const hex = hexKey(key);
    if (this.writes.has(hex)) return this.writes.get(hex) ?? undefined;
    this.track(key);
    return this.engine.get(key);
  }

  async batchGet(keys: Uint8Array[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (const k of keys) {
      const v = await this.get(k);
      if (v) out.set(hexKey(k), v);
    }
    return out;
  }

  async *scan(start: Uint8Array, end: Uint8Array, opts: ScanOptions = {}): AsyncIterable<KvPair> {
    // Merge committed data with this transaction's own writes in key order.
    const committed: KvPair[] = [];
    for await (const p of this.engine.scan(start, end, { ...opts, limit: undefined })) {
      this.track(p.key);
      committed.push(p);
    }
    const merged = new Map<string, KvPair>();
    for (const p of committed) merged.set(hexKey(p.key), p);
    for (const [hex, value] of this.writes) {
      const key = new Uint8Array(Buffer.from(hex, 'hex'));
      if (compareKeys(key, start) < 0 || (end.length > 0 && compareKeys(key, end) >= 0)) continue;
      if (value === null) merged.delete(hex);
      else merged.set(hex, { key, value: opts.keysOnly ? new Uint8Array(0) : copy(value) });
    }
    const sorted = [...merged.values()].sort((a, b) => compareKeys(a.key, b.key));
    const n = opts.limit ?? sorted.length;
    for (const p of sorted.slice(0, n)) yield p;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.writes.set(hexKey(key), copy(value));
  }

  delete(key: Uint8Array): void {
    this.writes.set(hexKey(key), null);
  }
}

function copy(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}
