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
  const dirs = new Map<bigint, DirAcc>();
  const acc = (ino: bigint) => {
    let a = dirs.get(ino);
    if (!a) dirs.set(ino, (a = newAcc()));
    return a;
  };
  let keysRead = 0;
  const linked: LinkedInode[] = [];
  const offset = keys.p.length;
  const profiler = opts.enrich === false ? undefined : new WalkProfiler(opts.now ?? Math.floor(Date.now() / 1000), opts.topFiles ?? 100, dirs, acc);
  // A file's name is in its parent's partition, its attr in its own: whichever half comes first
  // waits in `join` for the other. Keyed by the inode as a number (file inodes are allocated
  // from 2, far below 2^53). Hard-linked inodes take the first name that comes by.
  const join = new NameAttrJoin();
  const linkedByIno = new Map<number, LinkedInode>();
  /** A regular file's attr under `parent`: its figures now, its name when it comes. */
  const fileAttr = (ino: bigint, parent: bigint, length: bigint, mtime: number, slot?: DirAcc) => {
    if (!profiler) return;
    const bytes = fileSpace(length);
    profiler.attr(parent, bytes, mtime, slot);
    const name = join.attr(Number(ino), bytes, mtime);
    if (name !== undefined) profiler.named(parent, name, bytes, mtime, slot);
  };
  /** A regular file's dentry in `parent`. */
  const fileName = (key: number, parent: bigint, name: string) => {
    const l = linkedByIno.size ? linkedByIno.get(key) : undefined;
    if (l) {
      l.name ??= name;
      l.nameParent ??= parent;
      return;
    }
    const a = join.name(key, name);
    if (a) profiler!.named(parent, name, a.bytes, a.mtime);
  };

  /** Adds one child inode to its parent's direct figures. */
  const addChild = (parent: bigint, type: number, length: bigint) => {
    addDirectChild(acc(parent), type, length);
  };

  const readPartition = async (start: Buffer, end: Buffer) => {
    // A hard-linked inode waits for its parent keys, which follow its attr in key order.
    let pending: { ino: bigint; type: number; length: bigint; mtime: number; parents: bigint[] } | undefined;
    const flush = () => {
      if (pending) {
        // No positive parent key: filed under 0, i.e. detached. One: an ordinary child.
        if (pending.parents.length > 1) {
          const l: LinkedInode = { ino: pending.ino, type: pending.type, length: pending.length, parents: pending.parents, mtime: pending.mtime };
          linked.push(l);
          if (profiler && pending.type === TYPE_FILE) {
            linkedByIno.set(Number(l.ino), l);
            l.name = join.takeName(Number(l.ino));
            if (l.name !== undefined) l.nameParent = l.parents[0];
          }
        } else {
          addChild(pending.parents[0] ?? 0n, pending.type, pending.length);
          if (pending.type === TYPE_FILE && pending.parents[0] !== undefined) fileAttr(pending.ino, pending.parents[0], pending.length, pending.mtime);
        }
      }
      pending = undefined;
    };
    let inPage = 0;
    for await (const { key, value } of engine.scan(start, end, { pageSize: opts.pageSize ?? 10_000, signal: opts.signal })) {
      keysRead++;
      if (++inPage === (opts.pageSize ?? 10_000)) {
        opts.onProgress?.(keysRead);
        if (opts.throttle) await opts.throttle(inPage);
        inPage = 0;
      }
      const k = Buffer.isBuffer(key) ? key : Buffer.from(key);
      const parsed = parseInodeKey(k, offset);
      if (!parsed) continue;
      if (pending && parsed.ino !== pending.ino) flush();
      switch (parsed.kind) {
        case 'attr': {
          const ino = parsed.ino;
          const a = attrSummary(value, k.toString('hex'));
          if (a.type === TYPE_DIR) {
            const d = acc(ino);
            d.isDir = true;
            d.parent = ino === ROOT_INODE ? 0n : a.parent;
          }
          if (ino === ROOT_INODE || ino === TRASH_INODE) break; // not counted by JuiceFS either
          if (a.parent === 0n && a.type !== TYPE_DIR) pending = { ino, type: a.type, length: a.length, mtime: a.mtime, parents: [] };
          else {
            const d = acc(a.parent);
            addDirectChild(d, a.type, a.length);
            if (a.type === TYPE_FILE) fileAttr(ino, a.parent, a.length, a.mtime, d);
          }
          break;
        }
        case 'parent': {
          if (pending && value.length === 8 && Buffer.from(value).readBigInt64LE(0) > 0n) pending.parents.push(parsed.parent);
          break;
        }
        case 'dentry': {
          if (value.length > 0 && value[0] === TYPE_DIR) {
            const child = decodeDentry(value, k.toString('hex')).ino;
            acc(child).name = Buffer.from(parsed.name);
          } else if (profiler && value.length > 0 && value[0] === TYPE_FILE) {
            // The child inode straight from the 9-byte value (no hex key unless it is malformed).
            const ino = value.length === 9 ? readU32(value, 1) * 4294967296 + readU32(value, 5) : Number(decodeDentry(value, k.toString('hex')).ino);
            fileName(ino, parsed.ino, parsed.name.toString('latin1'));
          }
          break;
        }
        default:
          break;
      }
    }
    flush();
    if (inPage > 0) {
      opts.onProgress?.(keysRead);
      if (opts.throttle) await opts.throttle(inPage);
    }
  };

  const partitions = partitionsFor(keys, opts.expectedInodes ?? 0n);
  let next = 0;
  const workers = Array.from({ length: Math.min(opts.concurrency ?? 4, partitions.length) }, async () => {
    while (next < partitions.length) {
      const [s, e] = partitions[next++]!;
      await readPartition(s, e);
    }
  });
  await Promise.all(workers);
  const result = rollUp(dirs, keysRead, undefined, linked);
  return profiler ? profiler.finish(result, linked) : result;
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

/** Sums subtrees bottom-up and builds paths; detached entries are reported, not hidden. */
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
