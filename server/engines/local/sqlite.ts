/**
 * The SQLite file under the local engine, through whichever driver fits the running Node:
 * Node's own `node:sqlite` where it exists (22.13+, so production's Node 24), better-sqlite3 on
 * Node 20. better-sqlite3 12 aborts the process on Node 24 (its statements' destructors remove a
 * Node environment cleanup hook after the environment is gone: `Assertion failed: (env) !=
 * nullptr`), and its version 13, which fixes that, crashes on Node 20; so neither alone serves
 * both runtimes. The local engine's contract suite runs on both in CI.
 */
import { createRequire } from 'node:module';

/** A prepared statement; rows come back with BLOBs as Buffers whichever driver runs. */
export interface SqliteStatement<Args extends unknown[], R> {
  get(...args: Args): R | undefined;
  all(...args: Args): R[];
  run(...args: Args): void;
}

/** The little of a SQLite connection the local engine uses. */
export interface SqliteDb {
  readonly driver: 'node:sqlite' | 'better-sqlite3';
  exec(sql: string): void;
  prepare<Args extends unknown[], R = unknown>(sql: string): SqliteStatement<Args, R>;
  /** Runs `fn` in a `BEGIN IMMEDIATE` transaction: committed if it returns, rolled back if it throws. */
  immediate(fn: () => void): void;
  readonly isOpen: boolean;
  close(): void;
}

interface RawStatement {
  get(...a: unknown[]): unknown;
  all(...a: unknown[]): unknown[];
  run(...a: unknown[]): unknown;
}
interface RawDb {
  exec(sql: string): unknown;
  prepare(sql: string): RawStatement;
  close(): void;
}

/** BLOB columns as Buffers (node:sqlite gives plain Uint8Arrays). */
function buffers<R>(row: unknown): R {
  if (row === undefined || row === null) return row as R;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row as Record<string, unknown>)) out[k] = v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
  return out as R;
}

class Connection implements SqliteDb {
  private open = true;
  constructor(
    readonly driver: SqliteDb['driver'],
    private readonly raw: RawDb,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  exec(sql: string): void {
    this.raw.exec(sql);
  }

  prepare<Args extends unknown[], R>(sql: string): SqliteStatement<Args, R> {
    const s = this.raw.prepare(sql);
    const convert = this.driver === 'node:sqlite';
    return {
      get: (...a) => (convert ? buffers<R>(s.get(...a)) : (s.get(...a) as R | undefined)),
      all: (...a) => (convert ? s.all(...a).map((r) => buffers<R>(r)) : (s.all(...a) as R[])),
      run: (...a) => void s.run(...a),
    };
  }

  immediate(fn: () => void): void {
    this.raw.exec('BEGIN IMMEDIATE');
    try {
      fn();
      this.raw.exec('COMMIT');
    } catch (err) {
      this.raw.exec('ROLLBACK');
      throw err;
    }
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.raw.close();
  }
}

type NodeSqlite = { DatabaseSync: new (file: string) => RawDb };

/** Opens `file` with the driver the running Node supports. */
export function openSqlite(file: string): SqliteDb {
  const builtin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.('node:sqlite') as NodeSqlite | undefined;
  if (builtin) return new Connection('node:sqlite', new builtin.DatabaseSync(file));
  const BetterSqlite = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => RawDb;
  return new Connection('better-sqlite3', new BetterSqlite(file));
}
