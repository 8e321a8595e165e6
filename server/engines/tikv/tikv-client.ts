/**
 * Snapshot reads and optimistic two-phase commit over TiKV's transactional API (API V1, no
 * keyspace, raw keys), as JuiceFS's Go client does them (tikv-protocol.md §4). Reads never
 * return data that ignores a lock: they resolve it (or wait for it) and retry. The commit itself
 * is in two-phase-commit.ts.
 */
import { createHash } from 'node:crypto';
import { compareKeys, hexKey, type KvPair } from '../kv.js';
import { LockResolver, toLock, type Lock } from './lock-resolver.js';
import { PdClient, type RegionInfo } from './pd-client.js';
import { RegionRouter } from './region-router.js';
import { BACKOFF, Backoffer } from './backoff.js';
import { TikvError, keyError } from './tikv-errors.js';
import { TwoPhaseCommit, type Mutation, type ScannedRange } from './two-phase-commit.js';

export type { Mutation, ScannedRange } from './two-phase-commit.js';

/** Read options: which locks the reader may read past (their owners commit after it or rolled back). */
interface ReadState {
  resolved: bigint[];
}

const EMPTY = Buffer.alloc(0);

/** The transactional TiKV client. */
export class TikvClient {
  readonly pd: PdClient;
  readonly router: RegionRouter;
  readonly locks: LockResolver;
  private readonly committer: TwoPhaseCommit;

  constructor(pdEndpoints: string[], opts: { opTimeoutMs?: number } = {}) {
    this.pd = new PdClient(pdEndpoints);
    this.router = new RegionRouter(this.pd, { call: 30_000, op: opts.opTimeoutMs ?? 20_000 });
    this.locks = new LockResolver(this.pd, this.router);
    this.committer = new TwoPhaseCommit(this.pd, this.router, this.locks, (start, end, ts, own) => this.digestRange(start, end, ts, own));
  }

  tso(): Promise<bigint> {
    return this.pd.tso();
  }

  /** Runs `attempt` until it meets no unresolved lock; resolves locks it reports between attempts. */
  private async withLocks<T>(ts: bigint, attempt: (st: ReadState) => Promise<{ value: T } | { locks: Lock[] }>): Promise<T> {
    const st: ReadState = { resolved: [] };
    let held = '';
    const bo = new Backoffer(20_000, (summary) => new TikvError('lock_unresolved', `${held} is still held after ${summary}`));
    for (;;) {
      const r = await attempt(st);
      if ('value' in r) return r.value;
      let waiting = false;
      for (const l of r.locks) {
        const outcome = await this.locks.resolve(l, ts);
        if (outcome === 'pushed' && !st.resolved.includes(l.startTs)) st.resolved.push(l.startTs);
        if (outcome === 'wait') waiting = true;
      }
      if (waiting) {
        held = `lock of transaction ${r.locks[0]!.startTs} on key ${r.locks[0]!.key.toString('hex')}`;
        await bo.backoff(BACKOFF.txnLock, held);
      }
    }
  }

  /** The value of `key` at snapshot `ts`. */
  async get(key: Uint8Array, ts: bigint): Promise<Buffer | undefined> {
    return this.withLocks(ts, async (st) => {
      const { res } = await this.router.send('KvGet', [key], (r) => ({ context: this.router.context(r, { resolved_locks: st.resolved.map(String) }), key, version: ts.toString() }));
      if (res.error?.locked) return { locks: [toLock(res.error.locked)] };
      if (res.error) throw keyError('KvGet', res.error);
      return { value: res.not_found ? undefined : Buffer.from(res.value ?? []) };
    });
  }

  /** Values of `keys` at `ts`, keyed by hex; regions read in parallel. */
  async batchGet(keys: Uint8Array[], ts: bigint): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    let pending = keys;
    await this.withLocks(ts, async (st) => {
      const groups = await this.router.sendGrouped('KvBatchGet', pending, (r, ks) => ({
        context: this.router.context(r, { resolved_locks: st.resolved.map(String) }),
        keys: ks,
        version: ts.toString(),
      }));
      const locks: Lock[] = [];
      const retry: Uint8Array[] = [];
      for (const { res, keys: ks } of groups) {
        if (res.error?.locked) {
          locks.push(toLock(res.error.locked));
          retry.push(...ks);
          continue;
        }
        if (res.error) throw keyError('KvBatchGet', res.error);
        for (const p of res.pairs ?? []) {
          if (p.error?.locked) {
            const l = toLock(p.error.locked);
            locks.push(l);
            retry.push(l.key);
          } else if (p.error) throw keyError('KvBatchGet', p.error);
          else out.set(hexKey(p.key), p.value ?? EMPTY);
        }
      }
      pending = retry;
      return locks.length ? { locks } : { value: undefined };
    });
    return out;
  }

  /**
   * Pairs of `[start, end)` at `ts`, in key order, region by region and page by page
   * (`pageSize` ≥ 1; empty `end` = to the end of the key space).
   */
  async *scan(start: Uint8Array, end: Uint8Array, ts: bigint, opts: { pageSize?: number; keysOnly?: boolean; signal?: AbortSignal } = {}): AsyncIterable<KvPair> {
    const pageSize = Math.max(1, Math.min(opts.pageSize ?? 1024, 10_240));
    let cursor: Buffer = Buffer.from(start);
    for (;;) {
      opts.signal?.throwIfAborted();
      if (end.length > 0 && compareKeys(cursor, end) >= 0) return;
      const page = await this.withLocks<{ pairs: any[]; region: RegionInfo }>(ts, async (st) => {
        const { res, region } = await this.router.send('KvScan', [cursor], (r) => {
          const stop = r.end.length > 0 && (end.length === 0 || compareKeys(r.end, end) < 0) ? r.end : Buffer.from(end);
          return {
            context: this.router.context(r, { resolved_locks: st.resolved.map(String), not_fill_cache: true, priority: 1 }),
            start_key: cursor,
            end_key: stop,
            limit: pageSize,
            version: ts.toString(),
            key_only: opts.keysOnly ?? false,
          };
        });
        if (res.error?.locked) return { locks: [toLock(res.error.locked)] };
        if (res.error) throw keyError('KvScan', res.error);
        const pairs = (res.pairs ?? []) as any[];
        const locks: Lock[] = [];
        for (const p of pairs) {
          if (!p.error) continue;
          if (!p.error.locked) throw keyError('KvScan', p.error);
          locks.push(toLock(p.error.locked));
        }
        // Resolve every lock in the page, then re-read the same page: nothing was consumed yet.
        return locks.length ? { locks } : { value: { pairs, region } };
      });
      for (const p of page.pairs) yield { key: p.key, value: opts.keysOnly ? EMPTY : (p.value ?? EMPTY) };
      if (page.pairs.length === pageSize) {
        cursor = Buffer.concat([Buffer.from(page.pairs[page.pairs.length - 1].key), Buffer.from([0])]);
      } else {
        if (page.region.end.length === 0) return;
        cursor = page.region.end;
      }
    }
  }

  /** A digest of a range's pairs at `ts`, to check at commit that a scanned range did not change. */
  async digestRange(start: Buffer, end: Buffer, ts: bigint, ignoreLocksOf: bigint): Promise<string> {
    const h = createHash('sha256');
    for await (const p of this.scanIgnoring(start, end, ts, ignoreLocksOf)) digestPair(h, p);
    return h.digest('hex');
  }

  /** Like {@link scan} but reading past the locks of one transaction (our own, during commit). */
  private async *scanIgnoring(start: Buffer, end: Buffer, ts: bigint, own: bigint): AsyncIterable<KvPair> {
    let cursor: Buffer = start;
    for (;;) {
      if (end.length > 0 && compareKeys(cursor, end) >= 0) return;
      const page = await this.withLocks<{ pairs: any[]; region: RegionInfo }>(ts, async (st) => {
        const { res, region } = await this.router.send('KvScan', [cursor], (r) => ({
          context: this.router.context(r, { resolved_locks: [own, ...st.resolved].map(String) }),
          start_key: cursor,
          end_key: r.end.length > 0 && (end.length === 0 || compareKeys(r.end, end) < 0) ? r.end : end,
          limit: 1024,
          version: ts.toString(),
        }));
        if (res.error?.locked) return { locks: [toLock(res.error.locked)] };
        const pairs = (res.pairs ?? []) as any[];
        const locks = pairs.filter((p) => p.error?.locked).map((p) => toLock(p.error.locked));
        return locks.length ? { locks } : { value: { pairs, region } };
      });
      for (const p of page.pairs) yield { key: Buffer.from(p.key), value: Buffer.from(p.value ?? []) };
      if (page.pairs.length === 1024) cursor = Buffer.concat([Buffer.from(page.pairs[1023].key), Buffer.from([0])]);
      else if (page.region.end.length === 0) return;
      else cursor = page.region.end;
    }
  }

  /**
   * Commits `mutations` of the transaction that started at `startTs` with optimistic 2PC
   * (see {@link TwoPhaseCommit.commit} for what it throws).
   */
  commit(startTs: bigint, mutations: Mutation[], scanned: ScannedRange[] = []): Promise<bigint> {
    return this.committer.commit(startTs, mutations, scanned);
  }

  close(): void {
    this.router.close();
    this.pd.close();
  }
}

/** Adds one pair to a range digest (length-prefixed, so boundaries cannot shift). */
export function digestPair(h: ReturnType<typeof createHash>, p: KvPair): void {
  const len = Buffer.alloc(8);
  len.writeUInt32BE(p.key.length, 0);
  len.writeUInt32BE(p.value.length, 4);
  h.update(len).update(p.key).update(p.value);
}
