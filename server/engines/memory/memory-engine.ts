/**
 * In-memory ordered KV engine: the fake behind unit tests and demos. It implements the same
 * optimistic-transaction semantics as the real engines (read set and write set checked against
 * per-key versions at commit), and runs the same contract suite, so it cannot drift from them.
 */
import { KvConflictError, compareKeys, hexKey, type KvEngine, type KvPair, type KvTxn, type ScanOptions, type TxnOptions } from '../kv.js';
import { runTxn, TxnBuffer, type TxnSource } from '../txn-buffer.js';

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
      const at = this.find(cursor);
      let index = at.found && !inclusive ? at.index + 1 : at.index;
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
    return runTxn(
      () => new TxnBuffer<number>(this.source, this.clock),
      fn,
      (t) => this.commit(t),
      opts,
    );
  }

  private readonly source: TxnSource<number> = {
    readAt: async (_snap, key) => ({ value: await this.get(key) }),
    scanAt: (_snap, start, end, opts) => this.scan(start, end, opts),
  };

  /** Fails if anything the transaction read, scanned or writes changed after it started; then applies. */
  private commit(t: TxnBuffer<number>): void {
    const start = t.snapshot;
    for (const k of t.readKeys()) if (this.version(k) > start) throw new KvConflictError();
    for (const [k] of t.writeEntries()) if (this.version(k) > start) throw new KvConflictError();
    for (const [s, e] of t.readRanges()) {
      const inRange = (k: Uint8Array) => compareKeys(k, s) >= 0 && (e.length === 0 || compareKeys(k, e) < 0);
      if (this.entries.some((x) => x.version > start && inRange(x.key))) throw new KvConflictError();
      for (const [hex, v] of this.tombstones) if (v > start && inRange(Buffer.from(hex, 'hex'))) throw new KvConflictError();
    }
    if (t.writeCount() === 0) return;
    const version = ++this.clock;
    for (const [k, value] of t.writeEntries()) {
      const key = copy(k);
      const { index, found } = this.find(key);
      if (value === null) {
        if (found) this.entries.splice(index, 1);
        this.tombstones.set(hexKey(key), version);
      } else if (found) {
        this.entries[index] = { key, value: copy(value), version };
      } else {
        this.entries.splice(index, 0, { key, value: copy(value), version });
      }
    }
  }

  async close(): Promise<void> {}
}

function copy(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}
