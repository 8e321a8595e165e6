/**
 * A directory subtree's usage on the Redis layout, as `juicefs quota check --strict` counts it
 * (Σ align4K(length) and the entries below the directory, hard links once per link, trash not at
 * all), listing directories a level at a time with pipelined HVALS and their children's attrs
 * with MGETs. With `syncDirStats`, directories without dir stats get them (HSETNX, never over a
 * client's figures), as the fast summary of `juicefs quota set` leaves them.
 */
import { hexKey } from '../../engines/kv.js';
import type { SubtreeUsage } from '../volume-metadata.js';
import { TYPE_DIR, TYPE_FILE, align4K, attrSummary, decodeDentry } from '../tkv/records.js';
import { RedisKeys } from './keys.js';
import { encodeDecimal } from './records.js';
import type { Redis } from 'ioredis';
import type { RedisVolume } from './redis-volume.js';

/** Attrs per MGET, directories per HVALS round trip. */
const BATCH = 1000;
const DIRS_PER_ROUND = 100;

/** Exec's replies, with the first error thrown. */
export async function run(p: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const res = (await p.exec()) ?? [];
  return res.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}

/** The subtree's usage as `quota check --strict` counts it; `syncDirStats` fills in missing dir stats. */
export async function subtreeUsage(rv: RedisVolume, root: bigint, opts: { syncDirStats?: boolean } = {}): Promise<SubtreeUsage> {
  const k = rv.keys;
  const total: SubtreeUsage = { space: 0n, inodes: 0n };
  let level: bigint[] = [root];
  while (level.length) {
    const next: bigint[] = [];
    for (let i = 0; i < level.length; i += DIRS_PER_ROUND) {
      const dirs = level.slice(i, i + DIRS_PER_ROUND);
      const p = rv.redis.pipeline();
      for (const d of dirs) p.hvalsBuffer(k.dentries(d));
      const lists = (await run(p)) as Buffer[][];
      for (const [j, dir] of dirs.entries()) {
        const children = lists[j]!.map((v) => decodeDentry(v, hexKey(k.dentries(dir))).ino);
        const stat = { length: 0n, space: 0n, inodes: 0n };
        for (let c = 0; c < children.length; c += BATCH) {
          const part = children.slice(c, c + BATCH);
          const attrs = await rv.redis.mgetBuffer(part.map((x) => k.attr(x)));
          attrs.forEach((v, x) => {
            if (!v) return; // dangling dentry: skipped, as JuiceFS's readdir skips it
            const a = attrSummary(v, hexKey(k.attr(part[x]!)));
            total.space += align4K(a.length);
            total.inodes += 1n;
            stat.inodes += 1n;
            if (a.type === TYPE_FILE) {
              stat.length += a.length;
              stat.space += align4K(a.length);
            } else stat.space += 4096n;
            if (a.type === TYPE_DIR) next.push(part[x]!);
          });
        }
        if (opts.syncDirStats) {
          const f = RedisKeys.inoField(dir);
          await run(
            rv.redis
              .pipeline()
              .hsetnx(k.dirDataLength(), f, encodeDecimal(stat.length))
              .hsetnx(k.dirUsedSpace(), f, encodeDecimal(stat.space))
              .hsetnx(k.dirUsedInodes(), f, encodeDecimal(stat.inodes)),
          );
        }
      }
    }
    level = next;
  }
  return total;
}
