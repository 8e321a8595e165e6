/**
 * The JuiceFS tree fixture on ordered-KV engines (local, etcd, TiKV): records as TKV keys,
 * written in transactions of at most `batchOps` operations (etcd refuses more than 128 in one).
 * The bookkeeping is shared with the Redis builder in `../tree-fixture.ts`.
 */
import type { KvEngine } from '../../engines/kv.js';
import { TreeFixture, type FixtureOptions, type FixtureSlice, type FixtureTotals, type Name } from '../tree-fixture.js';
import type { VolumeKeys } from './keys.js';
import { encodeAttr, encodeCounter, encodeDentry, encodeDirStat, encodeSlices, type Attr } from './records.js';

export type { FixtureOptions, Name };

/** One write: a put, or a delete when the value is null. */
type Op = [Buffer, Buffer | null];

/** Builds a tree in a freshly formatted TKV volume. Call {@link FixtureBuilder.finish} at the end. */
export class FixtureBuilder extends TreeFixture<Op> {
  constructor(
    private readonly engine: KvEngine,
    private readonly keys: VolumeKeys,
    opts: FixtureOptions = {},
  ) {
    super(opts);
  }

  protected dentry(parent: bigint, name: Buffer, e: { type: number; ino: bigint } | null): Op[] {
    return [[this.keys.dentry(parent, name), e && encodeDentry(e)]];
  }
  protected attrRecord(ino: bigint, attr: Attr | null): Op[] {
    return [[this.keys.attr(ino), attr && encodeAttr(attr)]];
  }
  protected chunk(ino: bigint, index: number, slice: FixtureSlice | null): Op[] {
    return [[this.keys.chunk(ino, index), slice && encodeSlices([slice])]];
  }
  protected symlinkTarget(ino: bigint, target: Buffer): Op[] {
    return [[this.keys.symlink(ino), target]];
  }
  protected parentCount(ino: bigint, parent: bigint, n: number): Op[] {
    return [[this.keys.parent(ino, parent), encodeCounter(BigInt(n))]];
  }
  protected dirStat(ino: bigint, stat: { length: bigint; space: bigint; inodes: bigint }): Op[] {
    return [[this.keys.dirStat(ino), encodeDirStat(stat)]];
  }
  protected counters(total: FixtureTotals, _delta: FixtureTotals, next: { inode: bigint; slice: bigint; trash: bigint }): Op[] {
    // TKV counters are 8-byte values holding the total; allocation counters hold the next value.
    const ops: Op[] = [
      [this.keys.counter('usedSpace'), encodeCounter(total.usedSpace)],
      [this.keys.counter('totalInodes'), encodeCounter(total.totalInodes)],
      [this.keys.counter('nextInode'), encodeCounter(next.inode)],
      [this.keys.counter('nextChunk'), encodeCounter(next.slice)],
    ];
    if (next.trash > 0n) ops.push([this.keys.counter('nextTrash'), encodeCounter(next.trash)]);
    return ops;
  }
  protected async execute(batch: Op[]): Promise<void> {
    await this.engine.txn(async (t) => {
      for (const [k, v] of batch) {
        if (v) t.put(k, v);
        else t.delete(k);
      }
    });
  }
}
