/**
 * The fake cluster's MVCC store: Percolator locks and write records per raw key, with the rules of
 * tikv-protocol.md §7.4 (and the read-side lock rules of §4.2). Errors are returned as kvrpcpb
 * `KeyError` objects, exactly as TiKV would put them on the wire.
 */
import { MAX_TS, physicalOf } from '../../../server/engines/tikv/protocol.js';

export type LockType = 'put' | 'del' | 'lock';
export interface FakeLock {
  primary: Buffer;
  startTs: bigint;
  ttl: bigint;
  type?: LockType;
  value?: Buffer;
  minCommitTs?: bigint;
  useAsyncCommit?: boolean;
  secondaries?: Buffer[];
  txnSize?: bigint;
}
export interface FakeWrite {
  startTs: bigint;
  commitTs: bigint;
  type: 'put' | 'del' | 'lock' | 'rollback';
  value?: Buffer;
}
interface Entry {
  key: Buffer;
  lock?: FakeLock;
  writes: FakeWrite[]; // newest first
}

const OP = { put: 0, del: 1, lock: 2 } as const;
const s = (n: bigint) => n.toString();

/** A lock as kvrpcpb.LockInfo. */
export function lockInfo(key: Buffer, l: FakeLock): object {
  return {
    primary_lock: l.primary,
    lock_version: s(l.startTs),
    key,
    lock_ttl: s(l.ttl),
    txn_size: s(l.txnSize ?? 1n),
    lock_type: OP[l.type ?? 'put'],
    use_async_commit: l.useAsyncCommit ?? false,
    min_commit_ts: s(l.minCommitTs ?? 0n),
    secondaries: l.secondaries ?? [],
  };
}

/** Percolator state for every key of the cluster. */
export class Mvcc {
  private readonly entries = new Map<string, Entry>();
  private sorted: Entry[] | undefined;

  entry(key: Buffer, create = false): Entry | undefined {
    const hex = key.toString('hex');
    let e = this.entries.get(hex);
    if (!e && create) {
      e = { key: Buffer.from(key), writes: [] };
      this.entries.set(hex, e);
      this.sorted = undefined;
    }
    return e;
  }

  /** Entries in `[start, end)` in key order (end empty = unbounded). */
  range(start: Buffer, end: Buffer): Entry[] {
    this.sorted ??= [...this.entries.values()].sort((a, b) => Buffer.compare(a.key, b.key));
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare(this.sorted[mid]!.key, start) < 0) lo = mid + 1;
      else hi = mid;
    }
    const out: Entry[] = [];
    for (let i = lo; i < this.sorted.length; i++) {
      const e = this.sorted[i]!;
      if (end.length > 0 && Buffer.compare(e.key, end) >= 0) break;
      out.push(e);
    }
    return out;
  }

  /** SI read at `ts`: `{ locked }` when a lock blocks it, else the visible value (undefined = none). */
  read(key: Buffer, ts: bigint, resolved: bigint[], committed: bigint[]): { locked?: object; value?: Buffer } {
    const e = this.entry(key);
    if (!e) return {};
    const l = e.lock;
    if (l) {
      const ignorable = l.startTs > ts || l.type === 'lock' || (l.minCommitTs ?? 0n) > ts || resolved.includes(l.startTs) || (ts === MAX_TS && l.primary.equals(key) && !l.useAsyncCommit);
      if (committed.includes(l.startTs)) return { value: l.type === 'put' ? l.value : undefined };
      if (!ignorable) return { locked: lockInfo(key, l) };
    }
    for (const w of e.writes) {
      if (w.commitTs > ts || w.type === 'lock' || w.type === 'rollback') continue;
      return { value: w.type === 'put' ? w.value : undefined };
    }
    return {};
  }

  /** Prewrites one request's mutations; writes nothing if any key is locked by another txn. */
  prewrite(req: { mutations: Array<{ op: number; key: Buffer; value?: Buffer }>; primary: Buffer; startTs: bigint; ttl: bigint; minCommitTs: bigint; txnSize: bigint }): object[] {
    const locked: object[] = [];
    for (const m of req.mutations) {
      const e = this.entry(m.key);
      if (!e) continue;
      if (e.lock && e.lock.startTs !== req.startTs) {
        locked.push({ locked: lockInfo(m.key, e.lock) });
        continue;
      }
      if (e.lock) continue; // our own lock: idempotent
      const newest = e.writes[0];
      if (newest && newest.commitTs === req.startTs && newest.type === 'rollback') {
        return [conflict(req, m.key, newest, 3)];
      }
      if (newest && newest.commitTs > req.startTs) return [conflict(req, m.key, newest, 1)];
      if (m.op === 4 && this.read(m.key, MAX_TS - 1n, [], []).value) return [{ already_exist: { key: m.key } }];
    }
    if (locked.length) return locked;
    for (const m of req.mutations) {
      const e = this.entry(m.key, true)!;
      if (e.lock) continue;
      const type: LockType = m.op === 1 ? 'del' : m.op === 2 ? 'lock' : 'put';
      e.lock = { primary: req.primary, startTs: req.startTs, ttl: req.ttl, type, value: m.value, minCommitTs: req.minCommitTs, txnSize: req.txnSize };
    }
    return [];
  }

  /** Commits one key of a transaction; returns a KeyError or undefined. */
  commit(key: Buffer, startTs: bigint, commitTs: bigint): object | undefined {
    if (commitTs <= startTs) return { abort: `invalid commit ts ${commitTs} <= start ts ${startTs}` };
    const e = this.entry(key);
    const l = e?.lock;
    if (e && l && l.startTs === startTs) {
      if (commitTs < (l.minCommitTs ?? 0n)) return { commit_ts_expired: { start_ts: s(startTs), attempted_commit_ts: s(commitTs), key, min_commit_ts: s(l.minCommitTs ?? 0n) } };
      e.writes.unshift({ startTs, commitTs, type: l.type ?? 'put', value: l.value });
      e.writes.sort((a, b) => (a.commitTs > b.commitTs ? -1 : a.commitTs < b.commitTs ? 1 : 0));
      e.lock = undefined;
      return undefined;
    }
    if (e?.writes.some((w) => w.startTs === startTs && w.type !== 'rollback')) return undefined; // already committed
    return { txn_lock_not_found: { key }, retryable: `TxnLockNotFound { start_ts: ${startTs}, key: ${key.toString('hex')} }` };
  }

  /** Rolls back one key of a transaction (BatchRollback, ResolveLock with commit 0). */
  rollback(key: Buffer, startTs: bigint): object | undefined {
    const e = this.entry(key, true)!;
    if (e.lock && e.lock.startTs === startTs) e.lock = undefined;
    const w = e.writes.find((x) => x.startTs === startTs);
    if (w && w.type !== 'rollback') return { abort: `Committed { start_ts: ${startTs}, commit_ts: ${w.commitTs} }` };
    if (!w) e.writes.unshift({ startTs, commitTs: startTs, type: 'rollback' });
    e.writes.sort((a, b) => (a.commitTs > b.commitTs ? -1 : a.commitTs < b.commitTs ? 1 : 0));
    return undefined;
  }

  /** CheckTxnStatus on a primary key (§7.4). */
  checkTxnStatus(primary: Buffer, lockTs: bigint, callerTs: bigint, currentTs: bigint, rollbackIfNotExist: boolean): object {
    const e = this.entry(primary);
    const l = e?.lock;
    if (l && l.startTs === lockTs) {
      if (l.useAsyncCommit) return { lock_ttl: s(l.ttl), lock_info: lockInfo(primary, l), action: 0 };
      if (physicalOf(l.startTs) + l.ttl < physicalOf(currentTs)) {
        this.rollback(primary, lockTs);
        return { lock_ttl: '0', commit_version: '0', action: 1 };
      }
      let action = 0;
      if ((l.minCommitTs ?? 0n) !== 0n && callerTs !== MAX_TS && callerTs >= (l.minCommitTs ?? 0n)) {
        l.minCommitTs = callerTs + 1n > currentTs ? callerTs + 1n : currentTs;
      }
      if (callerTs === MAX_TS || (callerTs !== 0n && (l.minCommitTs ?? 0n) > callerTs)) action = 3;
      return { lock_ttl: s(l.ttl), lock_info: lockInfo(primary, l), action };
    }
    const w = e?.writes.find((x) => x.startTs === lockTs);
    if (w && w.type !== 'rollback') return { commit_version: s(w.commitTs), action: 0 };
    if (w) return { action: 0 };
    if (rollbackIfNotExist) {
      this.rollback(primary, lockTs);
      return { action: 2 };
    }
    return { error: { txn_not_found: { start_ts: s(lockTs), primary_key: primary } } };
  }

  /** CheckSecondaryLocks (§7.4). */
  checkSecondaryLocks(keys: Buffer[], startTs: bigint): object {
    const locks: object[] = [];
    for (const k of keys) {
      const e = this.entry(k, true)!;
      if (e.lock && e.lock.startTs === startTs) {
        locks.push(lockInfo(k, e.lock));
        continue;
      }
      const w = e.writes.find((x) => x.startTs === startTs);
      if (w && w.type !== 'rollback') return { commit_ts: s(w.commitTs) };
      if (!w) this.rollback(k, startTs);
      return { locks: [] };
    }
    return { locks };
  }
}

function conflict(req: { startTs: bigint; primary: Buffer }, key: Buffer, w: FakeWrite, reason: number): object {
  return {
    conflict: { start_ts: s(req.startTs), conflict_ts: s(w.startTs), key, primary: req.primary, conflict_commit_ts: s(w.commitTs), reason },
    retryable: `write conflict on key ${key.toString('hex')}`,
  };
}
