/**
 * Optimistic two-phase commit of one transaction, as JuiceFS's Go client does it
 * (tikv-protocol.md §4.5): prewrite every key with the smallest as primary, re-check the ranges
 * the transaction scanned, commit the primary (the commit point), then the secondaries.
 */
import { KvConflictError, compareKeys, hexKey } from '../kv.js';
import { BACKOFF, Backoffer } from './backoff.js';
import { toLock, type LockResolver } from './lock-resolver.js';
import type { PdClient } from './pd-client.js';
import { physicalOf } from './protocol.js';
import type { RegionRouter } from './region-router.js';
import { TikvError, keyError } from './tikv-errors.js';

/** One write of a transaction; `value` null is a delete, `lock` only checks for conflicts. */
export interface Mutation {
  key: Buffer;
  value: Uint8Array | null;
  lock?: boolean;
}

/** A range read by a transaction, and the digest of what it saw, for validation at commit. */
export interface ScannedRange {
  start: Buffer;
  end: Buffer;
  digest: string;
}

/** Digest of `[start, end)` at `ts`, reading past the locks of transaction `own`. */
export type RangeDigest = (start: Buffer, end: Buffer, ts: bigint, own: bigint) => Promise<string>;

const OP_PUT = 0;
const OP_DEL = 1;
const OP_LOCK = 2;

/** Commits transactions against one cluster. */
export class TwoPhaseCommit {
  constructor(
    private readonly pd: PdClient,
    private readonly router: RegionRouter,
    private readonly locks: LockResolver,
    private readonly digestRange: RangeDigest,
  ) {}

  /**
   * Commits `mutations` of the transaction that started at `startTs`. Conflicts (another writer
   * committed first, our lock was rolled back, a scanned range changed) throw
   * {@link KvConflictError}; a primary commit whose outcome is unknown throws
   * `TikvError('undetermined')` and leaves the locks for readers to settle.
   */
  async commit(startTs: bigint, mutations: Mutation[], scanned: ScannedRange[]): Promise<bigint> {
    if (mutations.length === 0) return startTs;
    const sorted = [...mutations].sort((a, b) => compareKeys(a.key, b.key));
    const primary = sorted[0]!.key;
    const byKey = new Map(sorted.map((m) => [hexKey(m.key), m]));
    const keys = sorted.map((m) => m.key);
    try {
      await this.prewrite(startTs, primary, keys, byKey);
    } catch (err) {
      await this.rollback(startTs, keys);
      throw err;
    }
    const commitTs = await this.commitPrimary(startTs, primary, keys, scanned);
    const secondaries = keys.filter((k) => compareKeys(k, primary) !== 0);
    if (secondaries.length) {
      // Committed already; a failed secondary commit leaves locks that readers commit for us.
      await this.router
        .sendGrouped('KvCommit', secondaries, (r, ks) => ({
          context: this.router.context(r),
          start_version: startTs.toString(),
          keys: ks,
          commit_version: commitTs.toString(),
          commit_role: 2,
          primary_key: primary,
        }))
        .catch(() => undefined);
    }
    return commitTs;
  }

  /** Validates the scanned ranges at a fresh commit ts and commits the primary; returns that ts. */
  private async commitPrimary(startTs: bigint, primary: Buffer, keys: Buffer[], scanned: ScannedRange[]): Promise<bigint> {
    let commitTs = await this.pd.tso();
    for (let attempt = 0; ; attempt++) {
      for (const r of scanned) {
        if ((await this.digestRange(r.start, r.end, commitTs, startTs)) !== r.digest) {
          await this.rollback(startTs, keys);
          throw new KvConflictError('transaction conflict: a scanned range changed before commit');
        }
      }
      let res: any;
      try {
        ({ res } = await this.router.send('KvCommit', [primary], (r) => ({
          context: this.router.context(r),
          start_version: startTs.toString(),
          keys: [primary],
          commit_version: commitTs.toString(),
          commit_role: 1,
          primary_key: primary,
        })));
      } catch (err) {
        throw new TikvError('undetermined', `commit of transaction ${startTs} is undetermined: ${(err as Error).message}`, { cause: err });
      }
      const e = res.error;
      if (!e) return commitTs;
      if (e.commit_ts_expired && attempt < 5) {
        commitTs = await this.pd.tso(); // a reader pushed our min_commit_ts: commit later, re-validate
        continue;
      }
      if (e.txn_lock_not_found || /TxnLockNotFound/.test(e.retryable ?? '')) {
        throw new KvConflictError('transaction conflict: our locks were rolled back by another reader (TxnLockNotFound)');
      }
      throw keyError('KvCommit', e);
    }
  }

  private async prewrite(startTs: bigint, primary: Buffer, keys: Buffer[], byKey: Map<string, Mutation>): Promise<void> {
    let pending = keys;
    const bo = new Backoffer(20_000, (summary) => new TikvError('lock_unresolved', `prewrite of ${startTs} kept meeting live locks: ${summary}`));
    while (pending.length > 0) {
      const ttl = 3000n + BigInt(Math.max(0, Date.now() - Number(physicalOf(startTs))));
      const groups = await this.router.sendGrouped('KvPrewrite', pending, (r, ks) => ({
        context: this.router.context(r),
        mutations: ks.map((k) => {
          const m = byKey.get(hexKey(k))!;
          return m.lock ? { op: OP_LOCK, key: k } : m.value === null ? { op: OP_DEL, key: k } : { op: OP_PUT, key: k, value: m.value };
        }),
        primary_lock: primary,
        start_version: startTs.toString(),
        lock_ttl: ttl.toString(),
        txn_size: ks.length,
        min_commit_ts: (startTs + 1n).toString(),
      }));
      const retry: Buffer[] = [];
      let waiting = false;
      for (const { res, keys: ks } of groups) {
        const errs = (res.errors ?? []) as any[];
        if (errs.length === 0) continue;
        for (const e of errs) if (await this.settlePrewriteError(startTs, e)) waiting = true;
        retry.push(...(ks as Buffer[])); // TiKV wrote nothing for a request with locked keys
      }
      pending = retry;
      if (pending.length && waiting) {
        if (bo.attempts() > 50) throw new TikvError('lock_unresolved', `prewrite of ${startTs} kept meeting live locks: ${bo.summary()}`);
        await bo.backoff(BACKOFF.txnLock, `prewrite of ${startTs} met live locks`);
      }
    }
  }

  /** Throws for a conflict; resolves a lock an older transaction left; true = that lock is still live. */
  private async settlePrewriteError(startTs: bigint, e: any): Promise<boolean> {
    if (e.conflict || /write conflict/i.test(e.retryable ?? '')) throw new KvConflictError(`transaction conflict: write conflict on ${Buffer.from(e.conflict?.key ?? []).toString('hex')}`);
    if (e.already_exist) throw new KvConflictError('transaction conflict: key already exists');
    if (!e.locked) throw keyError('KvPrewrite', e);
    const l = toLock(e.locked);
    if (l.startTs > startTs) throw new KvConflictError('transaction conflict: a newer transaction holds a lock');
    return (await this.locks.resolve(l, startTs)) !== 'resolved';
  }

  /** Best-effort rollback of our prewrites. */
  private async rollback(startTs: bigint, keys: Buffer[]): Promise<void> {
    await this.router.sendGrouped('KvBatchRollback', keys, (r, ks) => ({ context: this.router.context(r), start_version: startTs.toString(), keys: ks })).catch(() => undefined);
  }
}
