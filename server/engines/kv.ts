/**
 * The ordered key-value port every metadata engine implements (local SQLite, etcd, TiKV).
 *
 * Keys and values are raw bytes (`Uint8Array`, Buffers are fine). Keys compare as unsigned
 * bytes, lexicographically, exactly as TiKV and etcd order them; that is what makes a
 * prefix range `[p + 0xFD, p + 0xFE)` contain exactly one JuiceFS volume.
 *
 * Engines see *absolute* keys: the JuiceFS volume prefix is applied by the layer above
 * (`server/meta/tkv`), never by the engine, so one engine client can serve many volumes.
 */
export interface KvPair {
  key: Uint8Array;
  value: Uint8Array;
}

/** Options of a paged range scan over `[start, end)`. */
export interface ScanOptions {
  /** Keys per round trip to the engine (default chosen by the engine, e.g. 1000). */
  pageSize?: number;
  /** Stop after this many pairs in total. */
  limit?: number;
  /** Only keys, values come back empty (cheaper on engines that support it). */
  keysOnly?: boolean;
  /** Aborts the scan between pages. */
  signal?: AbortSignal;
}

/** Read/write view inside a transaction; reads see the transaction's own writes. */
export interface KvTxn {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  batchGet(keys: Uint8Array[]): Promise<Map<string, Uint8Array>>;
  scan(start: Uint8Array, end: Uint8Array, opts?: ScanOptions): AsyncIterable<KvPair>;
  put(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
}

/** Options for {@link KvEngine.txn}. */
export interface TxnOptions {
  /** Retries on {@link KvConflictError} before giving up (default 0: the conflict is thrown). */
  retries?: number;
}

/**
 * An ordered KV engine. `batchGet` returns a map keyed by `hexKey(key)` holding only keys that
 * exist. `txn` runs `fn` optimistically: reads are tracked, and commit fails with
 * {@link KvConflictError} if any key read or written was changed by someone else since.
 */
export interface KvEngine {
  /** Engine name for logs and metrics: `local`, `etcd`, `tikv`. */
  readonly kind: string;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  batchGet(keys: Uint8Array[]): Promise<Map<string, Uint8Array>>;
  scan(start: Uint8Array, end: Uint8Array, opts?: ScanOptions): AsyncIterable<KvPair>;
  txn<T>(fn: (txn: KvTxn) => Promise<T>, opts?: TxnOptions): Promise<T>;
  close(): Promise<void>;
}

/** Thrown when an optimistic commit loses to a concurrent writer; safe to retry. */
export class KvConflictError extends Error {
  readonly retryable = true;
  constructor(message = 'transaction conflict: a key was changed concurrently') {
    super(message);
    this.name = 'KvConflictError';
  }
}

/** Thrown when the engine cannot be reached or answers with an error that retrying will not fix. */
export class KvEngineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KvEngineError';
  }
}

/**
 * The engine could not be reached at all (refused, reset, no connection, a client-side circuit
 * breaker open): nothing was read or written. Callers answer it as an unavailable dependency
 * (503, `unknown` in a pass), unlike a corrupt record or a refused write.
 */
export class KvUnavailableError extends KvEngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KvUnavailableError';
  }
}

/** Lower-case hex of a key: the map key used by `batchGet` results. */
export function hexKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
}

/** Unsigned lexicographic comparison of two byte strings, the order every engine uses. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  // Hot path (region lookups, merges): no views to allocate when both are Buffers already.
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return Buffer.compare(a, b);
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * The smallest key greater than every key starting with `prefix`
 * (`prefix` with its last non-0xFF byte incremented), or an empty array for "no upper bound".
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const out = Uint8Array.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i] = out[i]! + 1;
      return out.subarray(0, i + 1);
    }
  }
  return new Uint8Array(0);
}
