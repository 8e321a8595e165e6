/**
 * `local://<path>`: the embedded engine, one SQLite file (node:sqlite on Node 24, better-sqlite3 on 20).
 *
 * Keys are a BLOB primary key in a WITHOUT ROWID table; SQLite compares BLOBs with memcmp and
 * then by length, which is exactly the unsigned lexicographic order TiKV and etcd use. Every
 * commit is one SQLite transaction in WAL mode with `synchronous=FULL`, so a crash in the middle
 * of a commit leaves either all of it or none of it.
 *
 * Transactions are optimistic, like the distributed engines: each commit gets a sequence number
 * stored with the keys it wrote (deletes leave a tombstone carrying it). A transaction remembers
 * the sequence it started at, the keys it read, and the ranges it scanned; it commits only if
 * none of them (and none of the keys it writes) changed after its start, otherwise it fails with
 * {@link KvConflictError}. That is serializable, and it also catches writes from another process
 * opening the same file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KvConflictError, KvEngineError, hexKey, type KvEngine, type KvPair, type KvTxn, type ScanOptions, type TxnOptions } from '../kv.js';
import { runTxn, TxnBuffer, type TxnSource } from '../txn-buffer.js';
import { openSqlite, type SqliteDb, type SqliteStatement } from './sqlite.js';

type Row = { key: Buffer; value: Buffer };

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS kv_tombstones (key BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS kv_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT OR IGNORE INTO kv_meta (name, value) VALUES ('seq', 0);
`;

/** The embedded ordered KV engine on one SQLite file. */
export class LocalEngine implements KvEngine {
  readonly kind = 'local';
  private readonly db: SqliteDb;
  private readonly stmt: {
    get: SqliteStatement<[Buffer], Row>;
    scan: SqliteStatement<[Buffer, Buffer, number], Row>;
    scanOpen: SqliteStatement<[Buffer, number], Row>;
    seq: SqliteStatement<[], { value: number }>;
    keySeq: SqliteStatement<[Buffer, Buffer], { seq: number }>;
    rangeChanged: SqliteStatement<[Buffer, Buffer, number, Buffer, Buffer, number], { n: number }>;
    rangeChangedOpen: SqliteStatement<[Buffer, number, Buffer, number], { n: number }>;
    put: SqliteStatement<[Buffer, Buffer, number], unknown>;
    del: SqliteStatement<[Buffer], unknown>;
    tomb: SqliteStatement<[Buffer, number], unknown>;
    untomb: SqliteStatement<[Buffer], unknown>;
    bump: SqliteStatement<[number], unknown>;
  };

  /** Opens (creating if needed) the SQLite file at `file`. */
  constructor(file: string) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    try {
      this.db = openSqlite(file);
      this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
      this.db.exec(SCHEMA);
    } catch (err) {
      throw new KvEngineError(`cannot open local metadata store ${file}: ${(err as Error).message}`, { cause: err });
    }
    const d = this.db;
    this.stmt = {
      get: d.prepare('SELECT key, value FROM kv WHERE key = ?'),
      scan: d.prepare('SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?'),
      scanOpen: d.prepare('SELECT key, value FROM kv WHERE key >= ? ORDER BY key LIMIT ?'),
      seq: d.prepare("SELECT value FROM kv_meta WHERE name = 'seq'"),
      keySeq: d.prepare('SELECT max(seq) AS seq FROM (SELECT seq FROM kv WHERE key = ? UNION ALL SELECT seq FROM kv_tombstones WHERE key = ?)'),
      rangeChanged: d.prepare(
        `SELECT (EXISTS (SELECT 1 FROM kv WHERE key >= ? AND key < ? AND seq > ?)
              OR EXISTS (SELECT 1 FROM kv_tombstones WHERE key >= ? AND key < ? AND seq > ?)) AS n`,
      ),
      rangeChangedOpen: d.prepare(
        `SELECT (EXISTS (SELECT 1 FROM kv WHERE key >= ? AND seq > ?)
              OR EXISTS (SELECT 1 FROM kv_tombstones WHERE key >= ? AND seq > ?)) AS n`,
      ),
      put: d.prepare('INSERT INTO kv (key, value, seq) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, seq = excluded.seq'),
      del: d.prepare('DELETE FROM kv WHERE key = ?'),
      tomb: d.prepare('INSERT INTO kv_tombstones (key, seq) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET seq = excluded.seq'),
      untomb: d.prepare('DELETE FROM kv_tombstones WHERE key = ?'),
      bump: d.prepare("UPDATE kv_meta SET value = ? WHERE name = 'seq'"),
    };
  }

  /** Reads for transactions: latest committed data; validation at commit makes it a snapshot. */
  private readonly source: TxnSource<number> = {
    readAt: async (_seq, key) => ({ value: this.stmt.get.get(buf(key))?.value }),
    scanAt: (_seq, start, end, opts) => this.scan(start, end, opts),
  };

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.stmt.get.get(buf(key))?.value;
  }

  async batchGet(keys: Uint8Array[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (const k of keys) {
      const row = this.stmt.get.get(buf(k));
      if (row) out.set(hexKey(k), row.value);
    }
    return out;
  }

  async *scan(start: Uint8Array, end: Uint8Array, opts: ScanOptions = {}): AsyncIterable<KvPair> {
    const pageSize = Math.max(1, opts.pageSize ?? 1000);
    let cursor = buf(start);
    let skipFirst = false;
    let emitted = 0;
    for (;;) {
      opts.signal?.throwIfAborted();
      const want = pageSize + (skipFirst ? 1 : 0);
      let rows = end.length > 0 ? this.stmt.scan.all(cursor, buf(end), want) : this.stmt.scanOpen.all(cursor, want);
      const full = rows.length === want;
      // Pages restart at the last key returned (inclusive) and drop it: one prepared statement.
      if (skipFirst && rows.length > 0 && rows[0]!.key.equals(cursor)) rows = rows.slice(1);
      for (const r of rows) {
        yield { key: r.key, value: opts.keysOnly ? new Uint8Array(0) : r.value };
        if (opts.limit !== undefined && ++emitted >= opts.limit) return;
      }
      if (!full || rows.length === 0) return;
      cursor = rows[rows.length - 1]!.key;
      skipFirst = true;
    }
  }

  async txn<T>(fn: (txn: KvTxn) => Promise<T>, opts: TxnOptions = {}): Promise<T> {
    return runTxn(
      () => new TxnBuffer<number>(this.source, this.stmt.seq.get()!.value),
      fn,
      (t) => this.commit(t),
      opts,
    );
  }

  /** Validates the read set against the start sequence and applies the writes, atomically. */
  private commit(t: TxnBuffer<number>): void {
    const start = t.snapshot;
    // IMMEDIATE takes the write lock before validating, so no other process commits in between.
    this.db.immediate(() => {
      const changed = (k: Buffer) => (this.stmt.keySeq.get(k, k)?.seq ?? 0) > start;
      for (const k of t.readKeys()) if (changed(k)) throw new KvConflictError();
      for (const [k] of t.writeEntries()) if (changed(k)) throw new KvConflictError();
      for (const [s, e] of t.readRanges()) {
        const hit = e.length > 0 ? this.stmt.rangeChanged.get(s, e, start, s, e, start) : this.stmt.rangeChangedOpen.get(s, start, s, start);
        if (hit?.n) throw new KvConflictError();
      }
      if (t.writeCount() === 0) return;
      const seq = this.stmt.seq.get()!.value + 1;
      for (const [k, v] of t.writeEntries()) {
        if (v === null) {
          this.stmt.del.run(k);
          this.stmt.tomb.run(k, seq);
        } else {
          this.stmt.put.run(k, buf(v), seq);
          this.stmt.untomb.run(k);
        }
      }
      this.stmt.bump.run(seq);
    });
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

function buf(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
