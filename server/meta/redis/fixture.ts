/**
 * The JuiceFS tree fixture on Redis: what a JuiceFS client leaves there, `d<ino>` dentry hashes,
 * `i<ino>` attrs (same bytes as TKV), `c<ino>_<indx>` slice lists, `s<ino>` symlink targets,
 * `p<ino>` parent counts (attr parent 0 for hard-linked files), the three `dir*` stat hashes, and
 * the decimal counters: `usedSpace`/`totalInodes` moved by INCRBY as JuiceFS moves them, and
 * `nextinode`/`nextchunk` holding the last value handed out (Redis semantics; TKV: the next).
 * Written in pipelines of `batchOps` commands. The bookkeeping is shared: `../tree-fixture.ts`.
 */
import type { Redis } from 'ioredis';
import { TreeFixture, type FixtureOptions, type FixtureSlice, type FixtureTotals, type Name } from '../tree-fixture.js';
import { encodeAttr, encodeDentry, encodeSlices, type Attr } from '../tkv/records.js';
import { RedisKeys } from './keys.js';
import { encodeDecimal } from './records.js';

export type { FixtureOptions, Name };

/** One buffered command. */
type Op = (p: ReturnType<Redis['pipeline']>) => void;

/** Builds a tree in a freshly formatted Redis volume. Call {@link RedisFixtureBuilder.finish} at the end. */
export class RedisFixtureBuilder extends TreeFixture<Op> {
  /**
   * @param redis client on the volume's database
   * @param keys the volume's key layout (default standalone)
   */
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys = new RedisKeys(),
    opts: FixtureOptions = {},
  ) {
    super(opts);
  }

  protected dentry(parent: bigint, name: Buffer, e: { type: number; ino: bigint } | null): Op[] {
    const key = this.keys.dentries(parent);
    return [e ? (p) => p.hset(key, name, encodeDentry(e)) : (p) => p.hdel(key, name)];
  }
  protected attrRecord(ino: bigint, attr: Attr | null): Op[] {
    const key = this.keys.attr(ino);
    return [attr ? (p) => p.set(key, encodeAttr(attr)) : (p) => p.del(key)];
  }
  protected chunk(ino: bigint, index: number, slice: FixtureSlice | null): Op[] {
    const key = this.keys.chunk(ino, index);
    // Each list element is one 24-byte slice, exactly what `encodeSlices` gives for one slice.
    return [slice ? (p) => p.rpush(key, encodeSlices([slice])) : (p) => p.del(key)];
  }
  protected symlinkTarget(ino: bigint, target: Buffer): Op[] {
    const key = this.keys.symlink(ino);
    return [(p) => p.set(key, target)];
  }
  protected parentCount(ino: bigint, parent: bigint, n: number): Op[] {
    const key = this.keys.parents(ino);
    return [(p) => p.hset(key, RedisKeys.inoField(parent), n.toString())];
  }
  protected dirStat(ino: bigint, stat: { length: bigint; space: bigint; inodes: bigint }): Op[] {
    const k = this.keys;
    const f = RedisKeys.inoField(ino);
    return [(p) => p.hset(k.dirDataLength(), f, encodeDecimal(stat.length)).hset(k.dirUsedSpace(), f, encodeDecimal(stat.space)).hset(k.dirUsedInodes(), f, encodeDecimal(stat.inodes))];
  }
  protected counters(_total: FixtureTotals, delta: FixtureTotals, next: { inode: bigint; slice: bigint; trash: bigint }): Op[] {
    const k = this.keys;
    const ops: Op[] = [
      (p) => p.incrby(k.usedSpace(), delta.usedSpace.toString()).incrby(k.totalInodes(), delta.totalInodes.toString()),
      (p) => p.set(k.counter('nextInode'), encodeDecimal(next.inode - 1n)).set(k.counter('nextChunk'), encodeDecimal(next.slice - 1n)),
    ];
    if (next.trash > 0n) ops.push((p) => p.set(k.counter('nextTrash'), encodeDecimal(next.trash)));
    return ops;
  }
  protected async execute(batch: Op[]): Promise<void> {
    const p = this.redis.pipeline();
    for (const op of batch) op(p);
    const res = await p.exec();
    const err = res?.find(([e]) => e)?.[0];
    if (err) throw err;
  }
}
