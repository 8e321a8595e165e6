/**
 * The full walk of a volume: per-directory usage from range scans only, no per-inode round trips.
 *
 * Every key of an inode starts with `P 'A' ino(LE)`, so the inode range splits into 256 (or 65,536
 * for very large volumes) disjoint partitions by the low byte(s) of the inode number, each holding
 * whole inodes. Partitions are read with bounded concurrency. That matters on etcd, whose limited
 * range requests count the whole remaining range: paging one huge range is quadratic, paging many
 * small ones is linear.
 *
 * What is kept in memory is one accumulator per directory; files are folded into their parent's
 * accumulator as their attr goes by. A regular file's parent comes from its attr; a hard-linked
 * file (attr parent 0) gets its parents from its `A ino P` keys, which sort right after its attr,
 * and is counted in every directory whose subtree holds a link and once in the total (as `du`
 * and the counters count it; see `rollUp`). Space is counted as JuiceFS counts it (align4K per
 * file, 4 KiB per other inode), so totals are comparable with the `usedSpace`/`totalInodes`
 * counters.
 */
import type { KvEngine } from '../../engines/kv.js';
import { ROOT_INODE, TRASH_INODE, parseInodeKey, type VolumeKeys } from './keys.js';
import { TYPE_DIR, TYPE_FILE, attrSummary, decodeDentry } from './records.js';
import { NameAttrJoin } from '../walk-file-names.js';
import { WalkProfiler, fileSpace } from '../walk-profile.js';
import { addDirectChild, newAcc, rollUp, type DirAcc, type LinkedInode, type WalkedDirectory, type WalkResult } from '../walk-rollup.js';

/** Walk options. */
export interface WalkOptions {
  /** Partitions read at once (default 4). */
  concurrency?: number;
  /** Keys per request inside a partition (default 10,000). */
  pageSize?: number;
  signal?: AbortSignal;
  /** Called with the running key count after each page. */
  onProgress?: (keysRead: number) => void;
  /** Awaited after each page with the keys it held: the hook for a read budget. */
  throttle?: (keys: number) => Promise<void>;
  /** Expected inode count (the counter), used to pick the partition width. */
  expectedInodes?: bigint;
  /** Collect ages, sizes, types and the largest files (`walk-profile.ts`; default true). */
  enrich?: boolean;
  /** The enrichment's clock (seconds) and largest-files bound; tests pin them. */
  now?: number;
  topFiles?: number;
}

export type { WalkedDirectory, WalkResult };

/** Walks the volume under `keys` on `engine`. */
export async function walkVolume(engine: KvEngine, keys: VolumeKeys, opts: WalkOptions = {}): Promise<WalkResult> {
  return new TkvWalk(engine, keys, opts).run();
}

/** A hard-linked inode (attr parent 0) waiting for its parent keys, which follow its attr in key order. */
interface PendingLinks {
  ino: bigint;
  type: number;
  length: bigint;
  mtime: number;
  parents: bigint[];
}

/** One walk's state: the directory accumulators, the hard-linked inodes and the file-name join. */
class TkvWalk {
  private readonly dirs = new Map<bigint, DirAcc>();
  private readonly linked: LinkedInode[] = [];
  private keysRead = 0;
  private readonly offset: number;
  private readonly pageSize: number;
  private readonly profiler: WalkProfiler | undefined;
  // A file's name is in its parent's partition, its attr in its own: whichever half comes first
  // waits in `join` for the other. Keyed by the inode as a number (file inodes are allocated
  // from 2, far below 2^53). Hard-linked inodes take the first name that comes by.
  private readonly join = new NameAttrJoin();
  private readonly linkedByIno = new Map<number, LinkedInode>();

  constructor(
    private readonly engine: KvEngine,
    private readonly keys: VolumeKeys,
    private readonly opts: WalkOptions,
  ) {
    this.offset = keys.p.length;
    this.pageSize = opts.pageSize ?? 10_000;
    this.profiler = opts.enrich === false ? undefined : new WalkProfiler(opts.now ?? Math.floor(Date.now() / 1000), opts.topFiles ?? 100, this.dirs, (ino) => this.acc(ino));
  }

  /** Reads every partition, `concurrency` at once, and rolls the figures up. */
  async run(): Promise<WalkResult> {
    const partitions = partitionsFor(this.keys, this.opts.expectedInodes ?? 0n);
    let next = 0;
    const workers = Array.from({ length: Math.min(this.opts.concurrency ?? 4, partitions.length) }, async () => {
      while (next < partitions.length) {
        const [s, e] = partitions[next++]!;
        await this.readPartition(s, e);
      }
    });
    await Promise.all(workers);
    const result = rollUp(this.dirs, this.keysRead, undefined, this.linked);
    return this.profiler ? this.profiler.finish(result, this.linked) : result;
  }

  private acc(ino: bigint): DirAcc {
    let a = this.dirs.get(ino);
    if (!a) this.dirs.set(ino, (a = newAcc()));
    return a;
  }

  private async readPartition(start: Buffer, end: Buffer): Promise<void> {
    let pending: PendingLinks | undefined;
    let inPage = 0;
    for await (const { key, value } of this.engine.scan(start, end, { pageSize: this.pageSize, signal: this.opts.signal })) {
      this.keysRead++;
      if (++inPage === this.pageSize) {
        await this.progress(inPage);
        inPage = 0;
      }
      const k = Buffer.isBuffer(key) ? key : Buffer.from(key);
      const parsed = parseInodeKey(k, this.offset);
      if (!parsed) continue;
      if (pending && parsed.ino !== pending.ino) pending = this.settle(pending);
      if (parsed.kind === 'attr') pending = this.attr(parsed.ino, k, value) ?? pending;
      else if (parsed.kind === 'parent') {
        if (pending && value.length === 8 && Buffer.from(value).readBigInt64LE(0) > 0n) pending.parents.push(parsed.parent);
      } else if (parsed.kind === 'dentry') this.dentry(parsed.ino, parsed.name, k, value);
    }
    if (pending) this.settle(pending);
    if (inPage > 0) await this.progress(inPage);
  }

  private async progress(keysInPage: number): Promise<void> {
    this.opts.onProgress?.(this.keysRead);
    if (this.opts.throttle) await this.opts.throttle(keysInPage);
  }

  /** An inode's attr: counted in its parent now, or (hard-linked) returned to wait for its parent keys. */
  private attr(ino: bigint, k: Buffer, value: Uint8Array): PendingLinks | undefined {
    const a = attrSummary(value, k.toString('hex'));
    if (a.type === TYPE_DIR) {
      const d = this.acc(ino);
      d.isDir = true;
      d.parent = ino === ROOT_INODE ? 0n : a.parent;
    }
    if (ino === ROOT_INODE || ino === TRASH_INODE) return undefined; // not counted by JuiceFS either
    if (a.parent === 0n && a.type !== TYPE_DIR) return { ino, type: a.type, length: a.length, mtime: a.mtime, parents: [] };
    const d = this.acc(a.parent);
    addDirectChild(d, a.type, a.length);
    if (a.type === TYPE_FILE) this.fileAttr(ino, a.parent, a.length, a.mtime, d);
    return undefined;
  }

  /** A dentry: a directory's name, or (enriched walks) a file's name for the join. */
  private dentry(parent: bigint, name: Buffer, k: Buffer, value: Uint8Array): void {
    if (value.length > 0 && value[0] === TYPE_DIR) {
      const child = decodeDentry(value, k.toString('hex')).ino;
      this.acc(child).name = Buffer.from(name);
    } else if (this.profiler && value.length > 0 && value[0] === TYPE_FILE) {
      // The child inode straight from the 9-byte value (no hex key unless it is malformed).
      const ino = value.length === 9 ? readU32(value, 1) * 4294967296 + readU32(value, 5) : Number(decodeDentry(value, k.toString('hex')).ino);
      this.fileName(ino, parent, name.toString('latin1'));
    }
  }

  /** Files an inode whose parent keys have all gone by; returns undefined (nothing pending). */
  private settle(p: PendingLinks): undefined {
    // No positive parent key: filed under 0, i.e. detached. One: an ordinary child.
    if (p.parents.length > 1) {
      const l: LinkedInode = { ino: p.ino, type: p.type, length: p.length, parents: p.parents, mtime: p.mtime };
      this.linked.push(l);
      if (this.profiler && p.type === TYPE_FILE) {
        this.linkedByIno.set(Number(l.ino), l);
        l.name = this.join.takeName(Number(l.ino));
        if (l.name !== undefined) l.nameParent = l.parents[0];
      }
    } else {
      addDirectChild(this.acc(p.parents[0] ?? 0n), p.type, p.length);
      if (p.type === TYPE_FILE && p.parents[0] !== undefined) this.fileAttr(p.ino, p.parents[0], p.length, p.mtime);
    }
    return undefined;
  }

  /** A regular file's attr under `parent`: its figures now, its name when it comes. */
  private fileAttr(ino: bigint, parent: bigint, length: bigint, mtime: number, slot?: DirAcc): void {
    if (!this.profiler) return;
    const bytes = fileSpace(length);
    this.profiler.attr(parent, bytes, mtime, slot);
    const name = this.join.attr(Number(ino), bytes, mtime);
    if (name !== undefined) this.profiler.named(parent, name, bytes, mtime, slot);
  }

  /** A regular file's dentry in `parent`. */
  private fileName(key: number, parent: bigint, name: string): void {
    const l = this.linkedByIno.size ? this.linkedByIno.get(key) : undefined;
    if (l) {
      l.name ??= name;
      l.nameParent ??= parent;
      return;
    }
    const a = this.join.name(key, name);
    if (a) this.profiler!.named(parent, name, a.bytes, a.mtime);
  }
}

const readU32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** 256 partitions, or 65,536 when the volume is big enough that 256 would be too coarse. */
function partitionsFor(keys: VolumeKeys, expectedInodes: bigint): Array<[Buffer, Buffer]> {
  const coarse = keys.inodePartitions();
  if (expectedInodes < 5_000_000n) return coarse;
  const out: Array<[Buffer, Buffer]> = [];
  for (const [s, e] of coarse) {
    for (let j = 0; j < 256; j++) out.push([Buffer.concat([s, Buffer.from([j])]), j === 255 ? e : Buffer.concat([s, Buffer.from([j + 1])])]);
  }
  return out;
}

/**
 * The walk's totals (tree + trash + detached) against the counters; null when they agree. TKV
 * clients flush counter deltas about once a second and lose them when they crash, so callers
 * decide what size of gap matters; this only reports it.
 */
export function counterMismatch(w: WalkResult, c: { usedSpace: bigint; totalInodes: bigint }): { bytesDelta: bigint; inodesDelta: bigint } | null {
  const bytesDelta = w.tree.bytes + w.trash.bytes + w.detached.bytes - c.usedSpace;
  const inodesDelta = w.tree.inodes + w.trash.inodes + w.detached.inodes - c.totalInodes;
  return bytesDelta === 0n && inodesDelta === 0n ? null : { bytesDelta, inodesDelta };
}
