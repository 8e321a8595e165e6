/**
 * The figures a Redis walk collects and how each child is counted: one accumulator per
 * directory, the attrs of the non-directory children a listing round found (with the parents of
 * hard-linked ones), and the sustained inodes of the sessions. `walk.ts` drives the traversal.
 */
import type { Redis } from 'ioredis';
import { hexKey } from '../../engines/kv.js';
import { TYPE_FILE, attrSummary, inodeSpace } from '../tkv/records.js';
import { WalkProfiler } from '../walk-profile.js';
import { addDirectChild, newAcc, rollUp, type DirAcc, type LinkedInode, type WalkResult } from '../walk-rollup.js';
import { ROOT_INODE, TRASH_INODE, type RedisKeys } from './keys.js';
import { decodeDecimal } from './records.js';
import type { RedisWalkOptions } from './walk.js';

/** One directory being listed. */
export interface Listing {
  ino: bigint;
  key: Buffer;
  cursor: string;
  /** The listing needed several HSCAN pages, so entries may repeat: names are deduplicated. */
  seen: Set<string> | undefined;
  /** Hard-linked children already counted here (two names for one inode in the same directory). */
  counted: Set<bigint>;
}

/** A non-directory child whose attr decides how (and whether) it is counted here. */
export interface ChildRef {
  dir: Listing;
  ino: bigint;
  /** The dentry's name (the enrichment's file type, series, largest files). */
  name: Buffer;
}

type PipelineReply = [Error | null, unknown];

/** The values of a pipeline's `expected` replies; throws the first error or a short reply. */
export function replies(res: PipelineReply[] | null, expected: number): unknown[] {
  if (!res || res.length !== expected) throw new Error(`Redis pipeline returned ${res?.length ?? 'no'} replies, expected ${expected}`);
  return res.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}

/** A hard-linked child waiting for its inode's parent counts. */
interface LinkedRef {
  ref: ChildRef;
  type: number;
  length: bigint;
  mtime: number;
}

/** One Redis walk's figures. */
export class WalkTally {
  readonly dirs = new Map<bigint, DirAcc>();
  /** Inodes with links in several directories, by inode: handed to rollUp. */
  private readonly multi = new Map<bigint, LinkedInode>();
  // Redis hands a file's name and attr over together, so the enrichment needs no join here.
  private readonly profiler: WalkProfiler | undefined;
  private keysRead = 0;

  /** `count` is the COUNT of SCAN and HSCAN and the keys per MGET. */
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly count: number,
    private readonly opts: RedisWalkOptions,
  ) {
    this.profiler = opts.enrich === false ? undefined : new WalkProfiler(opts.now ?? Math.floor(Date.now() / 1000), opts.topFiles ?? 100, this.dirs, (ino) => this.acc(ino));
  }

  /** The accumulator of directory `ino`, created on first use. */
  acc(ino: bigint): DirAcc {
    let a = this.dirs.get(ino);
    if (!a) {
      this.dirs.set(ino, (a = newAcc()));
      // Root and trash root are never dentries: give them what the TKV walk reads from their attrs.
      if (ino === ROOT_INODE) a.isDir = true;
      if (ino === TRASH_INODE) {
        a.isDir = true;
        a.parent = ROOT_INODE;
      }
    }
    return a;
  }

  /** Counts `n` items read in one round trip: progress, then the read budget. */
  async step(n: number): Promise<void> {
    this.keysRead += n;
    this.opts.onProgress?.(this.keysRead);
    if (this.opts.throttle && n > 0) await this.opts.throttle(n);
  }

  /** The walk result: subtree sums, detached entries (`detachedExtra` included) and the profile. */
  finish(detachedExtra: { bytes: bigint; inodes: bigint }): WalkResult {
    const result = rollUp(this.dirs, this.keysRead, detachedExtra, this.multi.values());
    return this.profiler ? this.profiler.finish(result, this.multi.values()) : result;
  }

  /** MGET in chunks of `count`, all chunks in one pipeline. */
  private async mget(ks: Buffer[]): Promise<Array<Buffer | null>> {
    if (ks.length === 0) return [];
    const p = this.redis.pipeline();
    for (let i = 0; i < ks.length; i += this.count) p.mgetBuffer(ks.slice(i, i + this.count));
    const out: Array<Buffer | null> = [];
    for (const r of replies(await p.exec(), Math.ceil(ks.length / this.count))) out.push(...(r as Array<Buffer | null>));
    return out;
  }

  /** Attrs of the non-directory children found in one round: count each where it belongs; returns the values read. */
  async resolve(refs: ChildRef[]): Promise<number> {
    if (refs.length === 0) return 0;
    const attrKeys = refs.map((r) => this.keys.attr(r.ino));
    const values = await this.mget(attrKeys);
    const linked: LinkedRef[] = [];
    refs.forEach((ref, i) => {
      const v = values[i];
      if (!v) return; // unlinked between the HSCAN and the MGET: gone from the counters too
      const a = attrSummary(v, hexKey(attrKeys[i]!));
      if (a.parent === 0n) {
        linked.push({ ref, type: a.type, length: a.length, mtime: a.mtime });
        return;
      }
      // Counted in its own parent only. nlink > 1 with a real parent is a v0.17 hard link.
      if (a.parent !== ref.dir.ino) return;
      if (a.nlink > 1) {
        if (ref.dir.counted.has(ref.ino)) return;
        ref.dir.counted.add(ref.ino);
      }
      const d = this.acc(ref.dir.ino);
      addDirectChild(d, a.type, a.length);
      if (a.type === TYPE_FILE) this.profiler?.file(ref.dir.ino, ref.name.toString('latin1'), a.length, a.mtime, d);
    });
    return values.length + (linked.length ? await this.resolveLinked(linked) : 0);
  }

  /**
   * Hard-linked children (attr parent 0): one HGETALL per distinct inode, pipelined, for its
   * parent counts. Fields are decimal, so the string form ioredis gives for field names is exact
   * here. Returns the hashes read.
   */
  private async resolveLinked(linked: LinkedRef[]): Promise<number> {
    const inos = [...new Set(linked.map((l) => l.ref.ino))];
    const p = this.redis.pipeline();
    for (const ino of inos) p.hgetallBuffer(this.keys.parents(ino));
    const home = new Map<bigint, bigint | undefined>();
    const attrOf = new Map(linked.map((l) => [l.ref.ino, l]));
    replies(await p.exec(), inos.length).forEach((r, i) => {
      const pk = hexKey(this.keys.parents(inos[i]!));
      const parents: bigint[] = [];
      for (const [field, cnt] of Object.entries(r as Record<string, Buffer>)) {
        if (decodeDecimal(cnt, pk) > 0n) parents.push(decodeDecimal(field, pk));
      }
      home.set(inos[i]!, parents.length === 1 ? parents[0] : undefined);
      if (parents.length > 1 && !this.multi.has(inos[i]!)) {
        const l = attrOf.get(inos[i]!)!;
        this.multi.set(inos[i]!, { ino: inos[i]!, type: l.type, length: l.length, parents, mtime: l.mtime, name: l.ref.name.toString('latin1'), nameParent: l.ref.dir.ino });
      }
    });
    for (const { ref, type, length, mtime } of linked) {
      // Links in several directories: counted by rollUp in each, once in the total.
      if (this.multi.has(ref.ino)) continue;
      const h = home.get(ref.ino);
      // No positive parent count: the TKV walk files such an inode under parent 0 (detached).
      const target = h ?? 0n;
      if (h !== undefined && h !== ref.dir.ino) continue;
      if (ref.dir.counted.has(ref.ino)) continue;
      ref.dir.counted.add(ref.ino);
      addDirectChild(this.acc(target), type, length);
      if (type === TYPE_FILE && target !== 0n) this.profiler?.file(target, ref.name.toString('latin1'), length, mtime);
    }
    return inos.length;
  }

  /**
   * Space of the sustained inodes of every session (HEAD `allSessions`, and the unprefixed v0.17
   * `sessions` zset on standalone Redis), plus whether the trash root exists. A handful of keys.
   */
  async sustainedUsage(): Promise<{ bytes: bigint; inodes: bigint }> {
    const p = this.redis.pipeline();
    p.exists(this.keys.attr(TRASH_INODE));
    p.zrangeBuffer(this.keys.allSessions(), 0, -1);
    if (!this.keys.tagged) p.zrangeBuffer(this.keys.legacySessions(), 0, -1);
    const r = replies(await p.exec(), this.keys.tagged ? 2 : 3);
    if (r[0] === 1) this.acc(TRASH_INODE); // a v1.1 volume with trash: report `.trash` even when empty
    const sids = new Set<string>();
    for (const list of r.slice(1) as Buffer[][]) for (const s of list) sids.add(s.toString('latin1'));
    let read = 1 + sids.size;
    const out = { bytes: 0n, inodes: 0n };
    if (sids.size > 0) {
      const q = this.redis.pipeline();
      for (const sid of sids) q.smembers(this.keys.sustained(sid));
      const inos = new Set<bigint>();
      for (const members of replies(await q.exec(), sids.size) as string[][]) {
        for (const m of members) if (/^[0-9]+$/.test(m)) inos.add(BigInt(m));
      }
      const list = [...inos];
      const values = await this.mget(list.map((i) => this.keys.attr(i)));
      read += values.length;
      values.forEach((v, i) => {
        if (!v) return;
        const a = attrSummary(v, hexKey(this.keys.attr(list[i]!)));
        out.bytes += inodeSpace(a.type, a.length);
        out.inodes += 1n;
      });
    }
    await this.step(read);
    return out;
  }
}
