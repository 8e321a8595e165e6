/**
 * Resolving locks met while reading or prewriting (tikv-protocol.md §4.4, §4.7): ask the lock's
 * primary for the transaction's fate (`KvCheckTxnStatus`), then commit or roll back the lock
 * (`KvResolveLock`). Async-commit locks left by JuiceFS's Go clients are settled through
 * `KvCheckSecondaryLocks` once they expire. A live lock is never touched: the caller waits.
 */
import { compareKeys } from '../kv.js';
import type { PdClient } from './pd-client.js';
import { physicalOf, u64 } from './protocol.js';
import type { RegionRouter } from './region-router.js';
import { TikvError } from './tikv-errors.js';

/** A lock as TiKV reports it. */
export interface Lock {
  primary: Buffer;
  startTs: bigint;
  key: Buffer;
  ttl: bigint;
  useAsyncCommit: boolean;
  minCommitTs: bigint;
  secondaries: Buffer[];
}

/** What became of a lock: gone (committed or rolled back), pushed past the reader, or still held. */
export type Resolution = 'resolved' | 'pushed' | 'wait';

export function toLock(l: any): Lock {
  return {
    primary: Buffer.from(l.primary_lock ?? []),
    startTs: u64(l.lock_version),
    key: Buffer.from(l.key ?? []),
    ttl: u64(l.lock_ttl),
    useAsyncCommit: Boolean(l.use_async_commit),
    minCommitTs: u64(l.min_commit_ts),
    secondaries: (l.secondaries ?? []).map((s: Buffer) => Buffer.from(s)),
  };
}

/** Lock resolution against one cluster. */
export class LockResolver {
  /** Settled transactions: start_ts → commit_ts (0n = rolled back). */
  private readonly settled = new Map<bigint, bigint>();

  constructor(
    private readonly pd: PdClient,
    private readonly router: RegionRouter,
  ) {}

  /** Resolves `lock` for a caller whose snapshot is `callerTs`. */
  async resolve(lock: Lock, callerTs: bigint): Promise<Resolution> {
    const known = this.settled.get(lock.startTs);
    if (known !== undefined) {
      await this.resolveKeys(lock.startTs, known, [lock.key]);
      return 'resolved';
    }
    const now = await this.pd.tso();
    const expired = physicalOf(now) >= physicalOf(lock.startTs) + lock.ttl;
    let status = await this.checkTxnStatus(lock, callerTs, now, false);
    if (status.txnNotFound) {
      if (!expired) return 'wait'; // the primary may not be prewritten yet
      status = await this.checkTxnStatus(lock, callerTs, now, true);
    }
    if (status.commitTs > 0n || (status.ttl === 0n && !status.txnNotFound)) {
      this.remember(lock.startTs, status.commitTs);
      if (compareKeys(lock.key, lock.primary) !== 0) await this.resolveKeys(lock.startTs, status.commitTs, [lock.key]);
      return 'resolved';
    }
    if (status.lockInfo?.useAsyncCommit) {
      if (!expired) return 'wait';
      return this.resolveAsync(status.lockInfo);
    }
    if (status.action === 3) return 'pushed'; // MinCommitTSPushed: the owner will commit after us
    return 'wait';
  }

  private remember(startTs: bigint, commitTs: bigint): void {
    if (this.settled.size > 2048) this.settled.delete(this.settled.keys().next().value!);
    this.settled.set(startTs, commitTs);
  }

  private async checkTxnStatus(lock: Lock, callerTs: bigint, now: bigint, rollbackIfNotExist: boolean) {
    const { res } = await this.router.send('KvCheckTxnStatus', [lock.primary], (r) => ({
      context: this.router.context(r),
      primary_key: lock.primary,
      lock_ts: lock.startTs.toString(),
      caller_start_ts: callerTs.toString(),
      current_ts: now.toString(),
      rollback_if_not_exist: rollbackIfNotExist,
      verify_is_primary: true,
    }));
    const e = res.error;
    if (e && !e.txn_not_found) throw new TikvError('key_error', `CheckTxnStatus on ${lock.primary.toString('hex')}: ${JSON.stringify(e)}`);
    return {
      txnNotFound: Boolean(e?.txn_not_found),
      ttl: u64(res.lock_ttl),
      commitTs: u64(res.commit_version),
      action: Number(res.action ?? 0),
      lockInfo: res.lock_info ? toLock(res.lock_info) : undefined,
    };
  }

  /** Settles an expired async-commit transaction from its primary's lock info. */
  private async resolveAsync(primary: Lock): Promise<Resolution> {
    const keys = [primary.primary, ...primary.secondaries];
    const results = await this.router.sendGrouped('KvCheckSecondaryLocks', primary.secondaries.length ? primary.secondaries : [primary.primary], (r, ks) => ({
      context: this.router.context(r),
      keys: ks,
      start_version: primary.startTs.toString(),
    }));
    let commitTs = primary.minCommitTs;
    let rolledBack = false;
    for (const { res, keys: asked } of results) {
      if (res.error) throw new TikvError('key_error', `CheckSecondaryLocks: ${JSON.stringify(res.error)}`);
      const c = u64(res.commit_ts);
      if (c > 0n) {
        commitTs = c;
        rolledBack = false;
        break;
      }
      const locks = (res.locks ?? []).map(toLock);
      if (locks.length < asked.length) rolledBack = true; // a key was missing: TiKV wrote a protected rollback
      for (const l of locks) if (l.minCommitTs > commitTs) commitTs = l.minCommitTs;
    }
    const final = rolledBack ? 0n : commitTs;
    this.remember(primary.startTs, final);
    await this.resolveKeys(primary.startTs, final, keys);
    return 'resolved';
  }

  /** Commits (commitTs > 0) or rolls back the given locks of one transaction, per region. */
  async resolveKeys(startTs: bigint, commitTs: bigint, keys: Buffer[]): Promise<void> {
    const results = await this.router.sendGrouped('KvResolveLock', keys, (r, ks) => ({
      context: this.router.context(r),
      start_version: startTs.toString(),
      commit_version: commitTs.toString(),
      keys: ks,
    }));
    for (const { res } of results) if (res.error) throw new TikvError('key_error', `ResolveLock: ${JSON.stringify(res.error)}`);
  }
}
