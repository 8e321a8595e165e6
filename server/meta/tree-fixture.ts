/**
 * Writes realistic JuiceFS trees through the same codecs the service reads with: directories,
 * files with chunks and slices, hard links, symlinks, deletions, trash entries, non-UTF-8
 * names. The bookkeeping (inode numbers, nlinks, directory stats, usage counters) is JuiceFS's
 * and engine-neutral, so it lives here once; each engine's builder only says how a record is
 * written (`tkv/fixture.ts`: ordered-KV transactions; `redis/fixture.ts`: Redis pipelines).
 * A walk of a fixture therefore agrees with its counters, on every engine.
 *
 * Writes are buffered and sent in batches, a few in flight, so building a 200,000-file volume
 * needs little memory. `finish()` may be called again after more changes.
 */
import { ROOT_INODE, TRASH_INODE } from './tkv/keys.js';
import { TYPE_DIR, TYPE_FILE, TYPE_SYMLINK, align4K, inodeSpace, type Attr } from './tkv/records.js';

/** JuiceFS chunk size: a file has one chunk key per 64 MiB. */
const CHUNK = 64n * 1024n * 1024n;

/** A name as bytes: strings are UTF-8, Buffers are taken as they are (any bytes). */
export type Name = string | Uint8Array;

/** Builder options. */
export interface FixtureOptions {
  /** Writes per batch: a transaction (TKV; etcd refuses more than 128 operations) or a pipeline (Redis). Default 100. */
  batchOps?: number;
  /** Batches in flight (default 4). */
  concurrency?: number;
  /** Write directory stats (v1.1+ volumes with DirStats; default true). */
  dirStats?: boolean;
  now?: Date;
}

interface DirState {
  parent: bigint;
  nlink: number;
  statLength: bigint;
  statSpace: bigint;
  statInodes: bigint;
}

/** One slice of a chunk, as the fixture writes them (one per chunk). */
export interface FixtureSlice {
  pos: number;
  id: bigint;
  size: number;
  off: number;
  len: number;
}

/** What a finished fixture adds up to. */
export interface FixtureTotals {
  usedSpace: bigint;
  totalInodes: bigint;
}

/** The bookkeeping of a JuiceFS tree; `Op` is one buffered engine write. */
export abstract class TreeFixture<Op> {
  private nextIno = 2n;
  private nextSlice = 1n;
  private nextTrash = 0n;
  private usedSpace = 0n;
  private totalInodes = 0n;
  /** What the counters already hold from earlier `finish()` calls. */
  private written = { usedSpace: 0n, totalInodes: 0n };
  private readonly dirs = new Map<bigint, DirState>([[ROOT_INODE, { parent: ROOT_INODE, nlink: 2, statLength: 0n, statSpace: 0n, statInodes: 0n }]]);
  private readonly linked = new Map<bigint, { attr: Attr; parents: Map<bigint, number> }>();
  private readonly files = new Map<bigint, Attr>(); // only files that may still be linked: kept small by callers
  private buffer: Op[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private readonly now: bigint;
  private failure: unknown;

  constructor(protected readonly opts: FixtureOptions = {}) {
    this.now = BigInt(Math.floor((opts.now ?? new Date()).getTime() / 1000));
  }

  // --- how an engine writes records (each returns the buffered operations) ---
  protected abstract dentry(parent: bigint, name: Buffer, entry: { type: number; ino: bigint } | null): Op[];
  protected abstract attrRecord(ino: bigint, attr: Attr | null): Op[];
  protected abstract chunk(ino: bigint, index: number, slice: FixtureSlice | null): Op[];
  protected abstract symlinkTarget(ino: bigint, target: Buffer): Op[];
  protected abstract parentCount(ino: bigint, parent: bigint, n: number): Op[];
  protected abstract dirStat(ino: bigint, stat: { length: bigint; space: bigint; inodes: bigint }): Op[];
  /** Usage counters (`total`, and the change since the last call) and the allocation counters (next values). */
  protected abstract counters(total: FixtureTotals, delta: FixtureTotals, next: { inode: bigint; slice: bigint; trash: bigint }): Op[];
  /** Sends one batch of operations. */
  protected abstract execute(batch: Op[]): Promise<void>;

  private attr(type: number, mode: number, length: bigint, parent: bigint, nlink: number): Attr {
    const t = this.now;
    return { flags: 0, type, mode, uid: 1000, gid: 1000, atime: t, atimensec: 0, mtime: t, mtimensec: 0, ctime: t, ctimensec: 0, nlink, length, rdev: 0, parent };
  }

  private async put(ops: Op[]): Promise<void> {
    this.buffer.push(...ops);
    if (this.buffer.length >= (this.opts.batchOps ?? 100)) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return;
    while (this.inflight.size >= (this.opts.concurrency ?? 4)) await Promise.race(this.inflight);
    const p: Promise<void> = this.execute(batch)
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private dir(ino: bigint): DirState {
    const d = this.dirs.get(ino);
    if (!d) throw new Error(`fixture: inode ${ino} is not a directory of this fixture`);
    return d;
  }

  private account(parent: bigint, type: number, length: bigint, sign = 1n): void {
    const d = this.dir(parent);
    d.statLength += sign * (type === TYPE_FILE ? length : 0n);
    d.statSpace += sign * inodeSpace(type, length);
    d.statInodes += sign;
  }

  /** Creates a directory; returns its inode. */
  async mkdir(parent: bigint, name: Name): Promise<bigint> {
    const ino = this.nextIno++;
    this.dir(parent).nlink += 1;
    this.dirs.set(ino, { parent, nlink: 2, statLength: 0n, statSpace: 0n, statInodes: 0n });
    this.account(parent, TYPE_DIR, 4096n);
    this.usedSpace += 4096n;
    this.totalInodes += 1n;
    await this.put(this.dentry(parent, Buffer.from(name), { type: TYPE_DIR, ino }));
    return ino;
  }

  /** Creates a regular file of `length` bytes with one slice per 64 MiB chunk; returns its inode. */
  async file(parent: bigint, name: Name, length: bigint | number, opts: { linkable?: boolean; mtime?: Date } = {}): Promise<bigint> {
    const len = BigInt(length);
    const ino = this.nextIno++;
    const attr = this.attr(TYPE_FILE, 0o644, len, parent, 1);
    // Files of several ages in one tree (the walk's age buckets); default: the fixture's `now`.
    if (opts.mtime) attr.mtime = BigInt(Math.floor(opts.mtime.getTime() / 1000));
    this.account(parent, TYPE_FILE, len);
    this.usedSpace += align4K(len);
    this.totalInodes += 1n;
    await this.put(this.dentry(parent, Buffer.from(name), { type: TYPE_FILE, ino }));
    for (let i = 0n; i * CHUNK < len; i++) {
      const size = Number(len - i * CHUNK < CHUNK ? len - i * CHUNK : CHUNK);
      await this.put(this.chunk(ino, Number(i), { pos: 0, id: this.nextSlice++, size, off: 0, len: size }));
    }
    if (opts.linkable) this.files.set(ino, attr);
    else await this.put(this.attrRecord(ino, attr));
    return ino;
  }

  /**
   * Deletes a file as `rm` with trash disabled would: its entry, attribute and chunks go, and
   * its space and inode leave the counters (written by the next {@link finish}).
   */
  async unlink(parent: bigint, name: Name, ino: bigint, length: bigint | number): Promise<void> {
    const len = BigInt(length);
    this.account(parent, TYPE_FILE, len, -1n);
    this.usedSpace -= align4K(len);
    this.totalInodes -= 1n;
    this.files.delete(ino);
    await this.put(this.dentry(parent, Buffer.from(name), null));
    await this.put(this.attrRecord(ino, null));
    for (let i = 0n; i * CHUNK < len; i++) await this.put(this.chunk(ino, Number(i), null));
  }

  /** Adds a hard link to a file created with `linkable: true`. */
  async link(ino: bigint, parent: bigint, name: Name): Promise<void> {
    let l = this.linked.get(ino);
    if (!l) {
      const attr = this.files.get(ino);
      if (!attr) throw new Error(`fixture: inode ${ino} was not created linkable`);
      l = { attr, parents: new Map([[attr.parent, 1]]) };
      this.linked.set(ino, l);
    }
    l.attr.nlink += 1;
    l.parents.set(parent, (l.parents.get(parent) ?? 0) + 1);
    this.account(parent, TYPE_FILE, l.attr.length); // JuiceFS adds the length to the new parent's stat
    await this.put(this.dentry(parent, Buffer.from(name), { type: TYPE_FILE, ino }));
  }

  /** Creates a symlink; returns its inode. */
  async symlink(parent: bigint, name: Name, target: Name): Promise<bigint> {
    const ino = this.nextIno++;
    const t = Buffer.from(target);
    this.account(parent, TYPE_SYMLINK, BigInt(t.length));
    this.usedSpace += 4096n;
    this.totalInodes += 1n;
    await this.put(this.dentry(parent, Buffer.from(name), { type: TYPE_SYMLINK, ino }));
    await this.put(this.attrRecord(ino, this.attr(TYPE_SYMLINK, 0o777, BigInt(t.length), parent, 1)));
    await this.put(this.symlinkTarget(ino, t));
    return ino;
  }

  /** Creates a trash hour directory (`YYYY-MM-DD-HH`) under `.trash`; returns its inode. */
  async trashDir(hour: string): Promise<bigint> {
    if (!this.dirs.has(TRASH_INODE)) this.dirs.set(TRASH_INODE, { parent: ROOT_INODE, nlink: 2, statLength: 0n, statSpace: 0n, statInodes: 0n });
    const ino = TRASH_INODE + ++this.nextTrash;
    this.dir(TRASH_INODE).nlink += 1;
    this.dirs.set(ino, { parent: TRASH_INODE, nlink: 2, statLength: 0n, statSpace: 0n, statInodes: 0n });
    this.account(TRASH_INODE, TYPE_DIR, 4096n);
    this.usedSpace += 4096n;
    this.totalInodes += 1n;
    await this.put(this.dentry(TRASH_INODE, Buffer.from(hour), { type: TYPE_DIR, ino }));
    return ino;
  }

  /** Writes directory attrs, linked files, dir stats and counters, then waits for every write. */
  async finish(): Promise<FixtureTotals> {
    for (const [ino, d] of this.dirs) {
      if (ino === ROOT_INODE || ino === TRASH_INODE) {
        // Root and trash root were written by format; rewrite them with the right nlink.
        const a = this.attr(TYPE_DIR, ino === ROOT_INODE ? 0o777 : 0o555, 4096n, ROOT_INODE, d.nlink);
        a.uid = a.gid = 0;
        await this.put(this.attrRecord(ino, a));
      } else {
        await this.put(this.attrRecord(ino, this.attr(TYPE_DIR, 0o755, 4096n, d.parent, d.nlink)));
      }
      if (this.opts.dirStats ?? true) await this.put(this.dirStat(ino, { length: d.statLength, space: d.statSpace, inodes: d.statInodes }));
    }
    for (const [ino, attr] of this.files) {
      const l = this.linked.get(ino);
      if (l) {
        attr.parent = 0n; // several parents: JuiceFS keeps them apart from the attr
        for (const [parent, n] of l.parents) await this.put(this.parentCount(ino, parent, n));
      }
      await this.put(this.attrRecord(ino, attr));
    }
    const total = { usedSpace: this.usedSpace, totalInodes: this.totalInodes };
    const delta = { usedSpace: total.usedSpace - this.written.usedSpace, totalInodes: total.totalInodes - this.written.totalInodes };
    await this.put(this.counters(total, delta, { inode: this.nextIno, slice: this.nextSlice, trash: this.nextTrash }));
    await this.flush();
    await Promise.all(this.inflight);
    if (this.failure) throw this.failure;
    this.written = total;
    return total;
  }
}
