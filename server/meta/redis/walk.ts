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
import { TYPE_DIR, decodeDentry } from '../tkv/records.js';
import { addDirectChild, type WalkResult } from '../walk-rollup.js';
import { ROOT_INODE, RedisKeys } from './keys.js';
import { WalkTally, replies, type ChildRef, type Listing } from './walk-tally.js';

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

/** Walks the volume whose keys `redis` (and `opts.keys`) point at. */
export async function walkRedisVolume(redis: Redis, opts: RedisWalkOptions = {}): Promise<WalkResult> {
  const keys = opts.keys ?? new RedisKeys();
  const count = Math.max(1, opts.scanCount ?? 1000);
  const dirBatch = Math.max(1, opts.dirBatch ?? 100);
  const tally = new WalkTally(redis, keys, count, opts);
  tally.acc(ROOT_INODE);
  opts.signal?.throwIfAborted();
  const detachedExtra = await tally.sustainedUsage();
  const listed = new Set<bigint>(); // directories already listed: SCAN may repeat a key
  const list = { redis, keys, count, tally, signal: opts.signal };
  let cursor = '0';
  const queue: bigint[] = [];
  do {
    opts.signal?.throwIfAborted();
    const [next, found] = await redis.scanBuffer(cursor, 'MATCH', keys.pattern('d'), 'COUNT', count);
    cursor = next.toString('latin1');
    for (const k of found) {
      const ino = keys.parseInoKey(k, 'd');
      if (ino === undefined || listed.has(ino)) continue;
      listed.add(ino);
      queue.push(ino);
    }
    await tally.step(found.length);
    while (queue.length >= dirBatch || (cursor === '0' && queue.length > 0)) await listDirs(list, queue.splice(0, dirBatch));
  } while (cursor !== '0');
  return tally.finish(detachedExtra);
}

/** What listing directories needs: the connection, its layout, the page size and the tally. */
interface ListContext {
  redis: Redis;
  keys: RedisKeys;
  count: number;
  tally: WalkTally;
  signal?: AbortSignal;
}

/** Lists a batch of directories to the end, one pipelined HSCAN round per page. */
async function listDirs(c: ListContext, inos: bigint[]): Promise<void> {
  let active: Listing[] = inos.map((ino) => ({ ino, key: c.keys.dentries(ino), cursor: '0', seen: undefined, counted: new Set() }));
  while (active.length > 0) {
    c.signal?.throwIfAborted();
    const p = c.redis.pipeline();
    for (const l of active) p.hscanBuffer(l.key, l.cursor, 'COUNT', c.count);
    const res = replies(await p.exec(), active.length);
    const refs: ChildRef[] = [];
    let entries = 0;
    active.forEach((l, i) => {
      const [cur, flat] = res[i] as [Buffer, Buffer[]];
      l.cursor = cur.toString('latin1');
      if (l.cursor !== '0') l.seen ??= new Set(); // more than one page: duplicates become possible
      entries += readPage(c.tally, l, flat, refs);
    });
    const attrsRead = await c.tally.resolve(refs);
    await c.tally.step(entries + attrsRead);
    active = active.filter((l) => l.cursor !== '0');
  }
}

/**
 * One HSCAN page of a listing (`flat` is name, value, name, value…): directories are counted from
 * the dentry alone, other children go to `refs` for their attrs. Returns the entries read.
 */
function readPage(tally: WalkTally, l: Listing, flat: Buffer[], refs: ChildRef[]): number {
  const dir = tally.acc(l.ino);
  let entries = 0;
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
      const child = tally.acc(d.ino);
      child.isDir = true;
      child.parent = l.ino;
      child.name = name;
      addDirectChild(dir, TYPE_DIR, 4096n);
    } else {
      refs.push({ dir: l, ino: d.ino, name });
    }
  }
  return entries;
}
