/**
 * The full walk of a JuiceFS volume on Redis: per-directory usage, same {@link WalkResult} as the
 * TKV walk (`../tkv/walk.ts`), so `counterMismatch` and everything downstream apply unchanged.
 *
 * Redis has no ordered key ranges, so the TKV trick (scan `A ino …` in key order, an inode's attr
 * and parent keys side by side) is not available. The walk is driven by the dentry hashes instead:
 *
 * 1. `SCAN MATCH d[0-9]* COUNT n` streams the directory keys (never KEYS, which blocks the server
 *    for the whole keyspace);
 * 2. each batch of directories is listed with pipelined `HSCAN … COUNT n` (one round trip per batch
 *    and per HSCAN page; a listpack-encoded hash comes back whole in the first page);
 * 3. a directory child is known from the dentry type byte alone (space 4096, no attr needed); every
 *    other child's attr `i<ino>` is fetched with pipelined MGETs (length, type, parent, nlink), and
 *    the `p<ino>` hashes of hard-linked ones with one more pipeline.
 *
 * Memory: one accumulator per directory (plus its name), and, only while a directory is being
 * listed, the set of its hard-linked children and, for hashes too big for one HSCAN page, the names
 * already seen. Files are folded into their directory as they go by.
 *
 * Counting rules, as JuiceFS counts `usedSpace`/`totalInodes` (§4): align4K(length) per regular
 * file, 4096 per other inode, each inode once in the total. A hard-linked inode (attr parent 0) is
 * counted in every directory whose subtree holds one of its links (the parents with a positive
 * count in `p<ino>`), once per directory, exactly as the TKV walk counts it; a v0.17 hard link
 * (which kept its first parent in the attr) is counted in that parent. SCAN and
 * HSCAN may return an element twice while Redis resizes a table: directories are deduplicated by
 * inode and names within a directory, so nothing is counted twice. Sustained inodes (unlinked while
 * open, still in the counters) have no dentry; they are read from the `session<sid>` sets and
 * reported as detached, as the TKV walk reports inodes without a reachable parent.
 *
 * Chunk lists (`c<ino>_<indx>`) are not read: JuiceFS's counters are computed from the attr length,
 * not from the slices, so reading them would only cost round trips.
 */
import type { Redis } from 'ioredis';
import { hexKey } from '../../engines/kv.js';
import { TYPE_DIR, TYPE_FILE, attrSummary, decodeDentry, inodeSpace } from '../tkv/records.js';
import { WalkProfiler } from '../walk-profile.js';
import type { WalkResult } from '../walk-rollup.js';
import { ROOT_INODE, RedisKeys, TRASH_INODE } from './keys.js';
import { decodeDecimal } from './records.js';
import { addDirectChild, newAcc, rollUp, type DirAcc, type LinkedInode } from '../walk-rollup.js';

export type { WalkResult, WalkedDirectory } from '../walk-rollup.js';

/** Walk options (the TKV ones that make sense on Redis, plus Redis batch sizes). */
export interface RedisWalkOptions {
  /** Key layout: default standalone; `RedisKeys.cluster(db)` on a cluster. */
  keys?: RedisKeys;
  /** COUNT for SCAN and HSCAN, and keys per MGET (default 1000). */
  scanCount?: number;
  /** Directories listed per HSCAN pipeline (default 100). */
  dirBatch?: number;
  signal?: AbortSignal;
  /** Called with the running count of keys, hash entries and values read, after each round trip. */
  onProgress?: (keysRead: number) => void;
  /** Awaited after each round trip with the number of items it read: the hook for a read budget. */
  throttle?: (keys: number) => Promise<void>;
  /** Collect ages, sizes, types and the largest files (`walk-profile.ts`; default true). */
  enrich?: boolean;
  /** The enrichment's clock (seconds) and largest-files bound; tests pin them. */
  now?: number;
  topFiles?: number;
}

/** One directory being listed. */
interface Listing {
  ino: bigint;
  key: Buffer;
  cursor: string;
  /** The listing needed several HSCAN pages, so entries may repeat: names are deduplicated. */
  seen: Set<string> | undefined;
  /** Hard-linked children already counted here (two names for one inode in the same directory). */
  counted: Set<bigint>;
}

/** A non-directory child whose attr decides how (and whether) it is counted here. */
interface ChildRef {
  dir: Listing;
  ino: bigint;
  /** The dentry's name (the enrichment's file type, series, largest files). */
  name: Buffer;
}

type PipelineReply = [Error | null, unknown];

function replies(res: PipelineReply[] | null, expected: number): unknown[] {
  if (!res || res.length !== expected) throw new Error(`Redis pipeline returned ${res?.length ?? 'no'} replies, expected ${expected}`);
  return res.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}

/** Walks the volume whose keys `redis` (and `opts.keys`) point at. */
export async function walkRedisVolume(redis: Redis, opts: RedisWalkOptions = {}): Promise<WalkResult> {
  const keys = opts.keys ?? new RedisKeys();
  const count = Math.max(1, opts.scanCount ?? 1000);
  const dirBatch = Math.max(1, opts.dirBatch ?? 100);
  const dirs = new Map<bigint, DirAcc>();
  const acc = (ino: bigint): DirAcc => {
    let a = dirs.get(ino);
    if (!a) {
      dirs.set(ino, (a = newAcc()));
      // Root and trash root are never dentries: give them what the TKV walk reads from their attrs.
      if (ino === ROOT_INODE) a.isDir = true;
      if (ino === TRASH_INODE) {
        a.isDir = true;
        a.parent = ROOT_INODE;
      }
    }
    return a;
  };
  const listed = new Set<bigint>(); // directories already listed: SCAN may repeat a key
  // Redis hands a file's name and attr over together, so the enrichment needs no join here.
  const profiler = opts.enrich === false ? undefined : new WalkProfiler(opts.now ?? Math.floor(Date.now() / 1000), opts.topFiles ?? 100, dirs, acc);
  /** Inodes with links in several directories, by inode: handed to rollUp. */
  const multi = new Map<bigint, LinkedInode>();
  let keysRead = 0;
  const step = async (n: number) => {
    keysRead += n;
    opts.onProgress?.(keysRead);
    if (opts.throttle && n > 0) await opts.throttle(n);
  };
  const abortCheck = () => opts.signal?.throwIfAborted();

  /** MGET in chunks of `count`, all chunks in one pipeline. */
  const mget = async (ks: Buffer[]): Promise<Array<Buffer | null>> => {
    if (ks.length === 0) return [];
    const p = redis.pipeline();
    for (let i = 0; i < ks.length; i += count) p.mgetBuffer(ks.slice(i, i + count));
    const out: Array<Buffer | null> = [];
    for (const r of replies(await p.exec(), Math.ceil(ks.length / count))) out.push(...(r as Array<Buffer | null>));
    return out;
  };

  acc(ROOT_INODE);
  abortCheck();
  const detachedExtra = await sustainedUsage();

  /** Attrs of the non-directory children found in one round: count each where it belongs. */
  const resolve = async (refs: ChildRef[]): Promise<number> => {
    if (refs.length === 0) return 0;
    const attrKeys = refs.map((r) => keys.attr(r.ino));
    const values = await mget(attrKeys);
    const linked: Array<{ ref: ChildRef; type: number; length: bigint; mtime: number }> = [];
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
      const d = acc(ref.dir.ino);
      addDirectChild(d, a.type, a.length);
      if (a.type === TYPE_FILE) profiler?.file(ref.dir.ino, ref.name.toString('latin1'), a.length, a.mtime, d);
    });
    if (linked.length === 0) return values.length;
    // One HGETALL per distinct hard-linked inode, pipelined. Fields are decimal, so the string
    // form ioredis gives for field names is exact here.
    const inos = [...new Set(linked.map((l) => l.ref.ino))];
    const p = redis.pipeline();
    for (const ino of inos) p.hgetallBuffer(keys.parents(ino));
    const home = new Map<bigint, bigint | undefined>();
    const attrOf = new Map(linked.map((l) => [l.ref.ino, l]));
    replies(await p.exec(), inos.length).forEach((r, i) => {
      const pk = hexKey(keys.parents(inos[i]!));
      const parents: bigint[] = [];
      for (const [field, cnt] of Object.entries(r as Record<string, Buffer>)) {
        if (decodeDecimal(cnt, pk) > 0n) parents.push(decodeDecimal(field, pk));
      }
      home.set(inos[i]!, parents.length === 1 ? parents[0] : undefined);
      if (parents.length > 1 && !multi.has(inos[i]!)) {
        const l = attrOf.get(inos[i]!)!;
        multi.set(inos[i]!, { ino: inos[i]!, type: l.type, length: l.length, parents, mtime: l.mtime, name: l.ref.name.toString('latin1'), nameParent: l.ref.dir.ino });
      }
    });
    for (const { ref, type, length, mtime } of linked) {
      // Links in several directories: counted by rollUp in each, once in the total.
      if (multi.has(ref.ino)) continue;
      const h = home.get(ref.ino);
      // No positive parent count: the TKV walk files such an inode under parent 0 (detached).
      const target = h ?? 0n;
      if (h !== undefined && h !== ref.dir.ino) continue;
      if (ref.dir.counted.has(ref.ino)) continue;
      ref.dir.counted.add(ref.ino);
      addDirectChild(acc(target), type, length);
      if (type === TYPE_FILE && target !== 0n) profiler?.file(target, ref.name.toString('latin1'), length, mtime);
    }
    return values.length + inos.length;
  };

  /** Lists a batch of directories to the end, one pipelined HSCAN round per page. */
  const listDirs = async (inos: bigint[]) => {
    let active: Listing[] = inos.map((ino) => ({ ino, key: keys.dentries(ino), cursor: '0', seen: undefined, counted: new Set() }));
    while (active.length > 0) {
      abortCheck();
      const p = redis.pipeline();
      for (const l of active) p.hscanBuffer(l.key, l.cursor, 'COUNT', count);
      const res = replies(await p.exec(), active.length);
      const refs: ChildRef[] = [];
      const still: Listing[] = [];
      let entries = 0;
      active.forEach((l, i) => {
        const [cur, flat] = res[i] as [Buffer, Buffer[]];
        const next = cur.toString('latin1');
        if (next !== '0') l.seen ??= new Set(); // more than one page: duplicates become possible
        const dir = acc(l.ino);
        for (let j = 0; j + 1 < flat.length; j += 2) {
          const name = flat[j]!;
          const value = flat[j + 1]!;
          entries++;
          if (l.seen) {
            const id = name.toString('latin1');
            if (l.seen.has(id)) continue;
            l.seen.add(id);
          }
          const d = decodeDentry(value, `${hexKey(l.key)}:${hexKey(name)}`);
          if (d.type === TYPE_DIR) {
            // A directory has exactly one dentry and always takes 4 KiB: no attr read needed.
            const child = acc(d.ino);
            child.isDir = true;
            child.parent = l.ino;
            child.name = name;
            addDirectChild(dir, TYPE_DIR, 4096n);
          } else {
            refs.push({ dir: l, ino: d.ino, name });
          }
        }
        l.cursor = next;
        if (next !== '0') still.push(l);
      });
      const attrsRead = await resolve(refs);
      await step(entries + attrsRead);
      active = still;
    }
  };

  let cursor = '0';
  const queue: bigint[] = [];
  do {
    abortCheck();
    const [next, found] = await redis.scanBuffer(cursor, 'MATCH', keys.pattern('d'), 'COUNT', count);
    cursor = next.toString('latin1');
    for (const k of found) {
      const ino = keys.parseInoKey(k, 'd');
      if (ino === undefined || listed.has(ino)) continue;
      listed.add(ino);
      queue.push(ino);
    }
    await step(found.length);
    while (queue.length >= dirBatch || (cursor === '0' && queue.length > 0)) await listDirs(queue.splice(0, dirBatch));
  } while (cursor !== '0');

  const result = rollUp(dirs, keysRead, detachedExtra, multi.values());
  return profiler ? profiler.finish(result, multi.values()) : result;

  /**
   * Space of the sustained inodes of every session (HEAD `allSessions`, and the unprefixed v0.17
   * `sessions` zset on standalone Redis), plus whether the trash root exists. A handful of keys.
   */
  async function sustainedUsage(): Promise<{ bytes: bigint; inodes: bigint }> {
    const p = redis.pipeline();
    p.exists(keys.attr(TRASH_INODE));
    p.zrangeBuffer(keys.allSessions(), 0, -1);
    if (!keys.tagged) p.zrangeBuffer(keys.legacySessions(), 0, -1);
    const r = replies(await p.exec(), keys.tagged ? 2 : 3);
    if (r[0] === 1) acc(TRASH_INODE); // a v1.1 volume with trash: report `.trash` even when empty
    const sids = new Set<string>();
    for (const list of r.slice(1) as Buffer[][]) for (const s of list) sids.add(s.toString('latin1'));
    let read = 1 + sids.size;
    const out = { bytes: 0n, inodes: 0n };
    if (sids.size > 0) {
      const q = redis.pipeline();
      for (const sid of sids) q.smembers(keys.sustained(sid));
      const inos = new Set<bigint>();
      for (const members of replies(await q.exec(), sids.size) as string[][]) {
        for (const m of members) if (/^[0-9]+$/.test(m)) inos.add(BigInt(m));
      }
      const list = [...inos];
      const values = await mget(list.map((i) => keys.attr(i)));
      read += values.length;
      values.forEach((v, i) => {
        if (!v) return;
        const a = attrSummary(v, hexKey(keys.attr(list[i]!)));
        out.bytes += inodeSpace(a.type, a.length);
        out.inodes += 1n;
      });
    }
    await step(read);
    return out;
  }
}
