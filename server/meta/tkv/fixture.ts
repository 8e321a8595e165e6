/**
 * Writes realistic JuiceFS trees through the same codecs the service reads with: directories,
 * files with chunks and slices, hard links, symlinks, trash entries, non-UTF-8 names. Counters,
 * nlinks, parent keys and dir stats end up as a JuiceFS client would leave them, so a walk of a
 * fixture must agree with its counters. For tests, demos and the scan benchmark.
 *
 * Files are written as they are added (in transactions of at most `batchOps` writes: etcd refuses
 * more than 128 operations in one), so building a 200,000-file volume needs little memory.
 */
import type { KvEngine } from '../../engines/kv.js';
import { ROOT_INODE, TRASH_INODE, type VolumeKeys } from './keys.js';
import { TYPE_DIR, TYPE_FILE, TYPE_SYMLINK, align4K, encodeAttr, encodeCounter, encodeDentry, encodeDirStat, encodeSlices, inodeSpace, type Attr } from './records.js';

const CHUNK = 64n * 1024n * 1024n;

/** A name as bytes: strings are UTF-8, Buffers are taken as they are (any bytes). */
export type Name = string | Uint8Array;

interface DirState {
  parent: bigint;
  nlink: number;
  statLength: bigint;
  statSpace: bigint;
  statInodes: bigint;
}

interface LinkedFile {
  attr: Attr;
  parents: Map<bigint, number>;
}

/** Builder options. */
export interface FixtureOptions {
  /** Writes per transaction (default 100). */
  batchOps?: number;
  /** Transactions in flight (default 4). */
  concurrency?: number;
  /** Write `U` dir-stat keys (v1.1+ volumes with DirStats; default true). */
  dirStats?: boolean;
  now?: Date;
}

/** Builds a tree in a freshly formatted volume. Call {@link FixtureBuilder.finish} at the end. */
export class FixtureBuilder {
  private nextIno = 2n;
  private nextSlice = 1n;
  private nextTrash = 0n;
  private usedSpace = 0n;
  private totalInodes = 0n;
  private readonly dirs = new Map<bigint, DirState>([[ROOT_INODE, { parent: ROOT_INODE, nlink: 2, statLength: 0n, statSpace: 0n, statInodes: 0n }]]);
  private readonly linked = new Map<bigint, LinkedFile>();
  private readonly files = new Map<bigint, Attr>(); // only files that may still be linked: kept small by callers
  private buffer: Array<[Buffer, Buffer | null]> = [];
  private readonly inflight = new Set<Promise<void>>();
  private readonly now: bigint;
  private failure: unknown;

  constructor(
    private readonly engine: KvEngine,
    private readonly keys: VolumeKeys,
    private readonly opts: FixtureOptions = {},
  ) {
    this.now = BigInt(Math.floor((opts.now ?? new Date()).getTime() / 1000));
  }

  private attr(type: number, mode: number, length: bigint, parent: bigint, nlink: number): Attr {
    const t = this.now;
    return { flags: 0, type, mode, uid: 1000, gid: 1000, atime: t, atimensec: 0, mtime: t, mtimensec: 0, ctime: t, ctimensec: 0, nlink, length, rdev: 0, parent };
  }

  private async put(key: Buffer, value: Buffer | null): Promise<void> {
    this.buffer.push([key, value]);
    if (this.buffer.length >= (this.opts.batchOps ?? 100)) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return;
    while (this.inflight.size >= (this.opts.concurrency ?? 4)) await Promise.race(this.inflight);
    const p = this.engine
      .txn(async (t) => {
        for (const [k, v] of batch) {
          if (v) t.put(k, v);
          else t.delete(k);
        }
      })
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

  private account(parent: bigint, type: number, length: bigint): void {
    const d = this.dir(parent);
    d.statLength += type === TYPE_FILE ? length : 0n;
    d.statSpace += inodeSpace(type, length);
    d.statInodes += 1n;
  }

  private async entry(parent: bigint, name: Name, type: number, ino: bigint): Promise<void> {
    await this.put(this.keys.dentry(parent, Buffer.from(name)), encodeDentry({ type, ino }));
  }

  /** Creates a directory; returns its inode. */
  async mkdir(parent: bigint, name: Name): Promise<bigint> {
    const ino = this.nextIno++;
    const p = this.dir(parent);
    p.nlink += 1;
    this.dirs.set(ino, { parent, nlink: 2, statLength: 0n, statSpace: 0n, statInodes: 0n });
    this.account(parent, TYPE_DIR, 4096n);
    this.usedSpace += 4096n;
    this.totalInodes += 1n;
    await this.entry(parent, name, TYPE_DIR, ino);
    return ino;
  }

  /** Creates a regular file of `length` bytes with one slice per 64 MiB chunk; returns its inode. */
  async file(parent: bigint, name: Name, length: bigint | number, opts: { linkable?: boolean } = {}): Promise<bigint> {
    const len = BigInt(length);
    const ino = this.nextIno++;
    const attr = this.attr(TYPE_FILE, 0o644, len, parent, 1);
    this.account(parent, TYPE_FILE, len);
    this.usedSpace += align4K(len);
    this.totalInodes += 1n;
    await this.entry(parent, name, TYPE_FILE, ino);
    for (let i = 0n; i * CHUNK < len; i++) {
      const size = Number(len - i * CHUNK < CHUNK ? len - i * CHUNK : CHUNK);
      await this.put(this.keys.chunk(ino, Number(i)), encodeSlices([{ pos: 0, id: this.nextSlice++, size, off: 0, len: size }]));
    }
    if (opts.linkable) this.files.set(ino, attr);
    else await this.put(this.keys.attr(ino), encodeAttr(attr));
    return ino;
  }

  /**
   * Deletes a file as `rm` with trash disabled would: its entry, attribute and chunks go, and
   * its space and inode leave the counters (call {@link finish} again to write them).
   */
  async unlink(parent: bigint, name: Name, ino: bigint, length: bigint | number): Promise<void> {
    const len = BigInt(length);
    const d = this.dir(parent);
    d.statLength -= len;
    d.statSpace -= inodeSpace(TYPE_FILE, len);
    d.statInodes -= 1n;
    this.usedSpace -= align4K(len);
    this.totalInodes -= 1n;
    await this.put(this.keys.dentry(parent, Buffer.from(name)), null);
    await this.put(this.keys.attr(ino), null);
    for (let i = 0n; i * CHUNK < len; i++) await this.put(this.keys.chunk(ino, Number(i)), null);
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
    await this.entry(parent, name, TYPE_FILE, ino);
  }

  /** Creates a symlink; returns its inode. */
  async symlink(parent: bigint, name: Name, target: Name): Promise<bigint> {
    const ino = this.nextIno++;
    const t = Buffer.from(target);
    this.account(parent, TYPE_SYMLINK, BigInt(t.length));
    this.usedSpace += 4096n;
    this.totalInodes += 1n;
    await this.entry(parent, name, TYPE_SYMLINK, ino);
    await this.put(this.keys.attr(ino), encodeAttr(this.attr(TYPE_SYMLINK, 0o777, BigInt(t.length), parent, 1)));
    await this.put(this.keys.symlink(ino), t);
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
    await this.entry(TRASH_INODE, hour, TYPE_DIR, ino);
    return ino;
  }

  /**
   * Writes directory attrs, linked files, dir stats and counters, then waits for every write.
   * May be called again after more changes (counters are rewritten from the running totals).
   */
  async finish(): Promise<{ usedSpace: bigint; totalInodes: bigint }> {
    for (const [ino, d] of this.dirs) {
      if (ino === ROOT_INODE || ino === TRASH_INODE) {
        // Root and trash root were written by format; rewrite them with the right nlink.
        const a = this.attr(TYPE_DIR, ino === ROOT_INODE ? 0o777 : 0o555, 4096n, ROOT_INODE, d.nlink);
        a.uid = a.gid = 0;
        await this.put(this.keys.attr(ino), encodeAttr(a));
      } else {
        await this.put(this.keys.attr(ino), encodeAttr(this.attr(TYPE_DIR, 0o755, 4096n, d.parent, d.nlink)));
      }
      if (this.opts.dirStats ?? true) {
        await this.put(this.keys.dirStat(ino), encodeDirStat({ length: d.statLength, space: d.statSpace, inodes: d.statInodes }));
      }
    }
    for (const [ino, attr] of this.files) {
      const l = this.linked.get(ino);
      if (l) {
        attr.parent = 0n; // several parents: JuiceFS keeps them in `A ino P parent` keys
        for (const [parent, n] of l.parents) await this.put(this.keys.parent(ino, parent), encodeCounter(BigInt(n)));
      }
      await this.put(this.keys.attr(ino), encodeAttr(attr));
    }
    await this.put(this.keys.counter('usedSpace'), encodeCounter(this.usedSpace));
    await this.put(this.keys.counter('totalInodes'), encodeCounter(this.totalInodes));
    await this.put(this.keys.counter('nextInode'), encodeCounter(this.nextIno));
    await this.put(this.keys.counter('nextChunk'), encodeCounter(this.nextSlice));
    if (this.nextTrash > 0n) await this.put(this.keys.counter('nextTrash'), encodeCounter(this.nextTrash));
    await this.flush();
    await Promise.all(this.inflight);
    if (this.failure) throw this.failure;
    return { usedSpace: this.usedSpace, totalInodes: this.totalInodes };
  }
}
