/**
 * JuiceFS TKV key layout (the same on TiKV, etcd and our local engine): every key of a volume
 * is `P ++ key`, where P is the volume prefix bytes followed by 0xFD. Inode numbers inside keys
 * are little-endian u64; chunk indexes are big-endian u32 (see juicefs-metadata.md §2.1).
 */

/** The separator JuiceFS appends to a volume prefix; never valid UTF-8, so prefixes cannot nest. */
export const PREFIX_SEPARATOR = 0xfd;

/** Inode of the root directory. */
export const ROOT_INODE = 1n;
/** Inode of the virtual `.trash` root (not a dentry of `/`). */
export const TRASH_INODE = 0x7fffffff10000000n;

/** Counter names JuiceFS keeps under `C`. */
export type CounterName = 'usedSpace' | 'totalInodes' | 'nextInode' | 'nextChunk' | 'nextSession' | 'nextTrash';

/** Little-endian u64 of an inode number, as it appears inside keys. */
export function inoLE(ino: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(ino);
  return b;
}

/** Key builder for one volume, bound to its prefix. */
export class VolumeKeys {
  /** The volume's key prefix: prefix bytes ++ 0xFD. */
  readonly p: Buffer;

  /** `prefixBytes` as the engine sees them: `alice` for TiKV, `/alice` for etcd. */
  constructor(prefixBytes: Uint8Array) {
    this.p = Buffer.concat([Buffer.from(prefixBytes), Buffer.from([PREFIX_SEPARATOR])]);
  }

  private k(...parts: Array<string | Buffer | number>): Buffer {
    return Buffer.concat([this.p, ...parts.map((x) => (typeof x === 'string' ? Buffer.from(x, 'latin1') : typeof x === 'number' ? Buffer.from([x]) : x))]);
  }

  /** `[P, P+1)`: every key of the volume (`juicefs destroy` deletes exactly this range). */
  range(): [Buffer, Buffer] {
    const end = Buffer.from(this.p);
    end[end.length - 1] = PREFIX_SEPARATOR + 1;
    return [this.p, end];
  }

  setting(): Buffer {
    return this.k('setting');
  }

  counter(name: CounterName): Buffer {
    return this.k('C', name);
  }

  attr(ino: bigint): Buffer {
    return this.k('A', inoLE(ino), 'I');
  }

  dentry(parent: bigint, name: Uint8Array): Buffer {
    return this.k('A', inoLE(parent), 'D', Buffer.from(name));
  }

  /** `[A ino D, A ino E)`: all dentries of a directory. */
  dentryRange(parent: bigint): [Buffer, Buffer] {
    return [this.k('A', inoLE(parent), 'D'), this.k('A', inoLE(parent), 'E')];
  }

  /** Hard-link parent count key, used when an inode has several parents. */
  parent(ino: bigint, parent: bigint): Buffer {
    return this.k('A', inoLE(ino), 'P', inoLE(parent));
  }

  chunk(ino: bigint, index: number): Buffer {
    const i = Buffer.alloc(4);
    i.writeUInt32BE(index);
    return this.k('A', inoLE(ino), 'C', i);
  }

  symlink(ino: bigint): Buffer {
    return this.k('A', inoLE(ino), 'S');
  }

  dirStat(ino: bigint): Buffer {
    return this.k('U', inoLE(ino));
  }

  dirQuota(ino: bigint): Buffer {
    return this.k('QD', inoLE(ino));
  }

  /** `[P A, P B)`: every per-inode key (attrs, dentries, chunks, parents, symlinks, xattrs). */
  inodeRange(): [Buffer, Buffer] {
    return [this.k('A'), this.k('B')];
  }

  /**
   * The per-inode range split by the low byte of the inode number (the first byte after `A`,
   * since inodes are little-endian): 256 disjoint ranges covering {@link inodeRange} exactly.
   * Each holds every key of the inodes it covers, so a walker can process them independently.
   */
  inodePartitions(): Array<[Buffer, Buffer]> {
    const out: Array<[Buffer, Buffer]> = [];
    for (let i = 0; i < 256; i++) {
      out.push([i === 0 ? this.k('A') : this.k('A', i), i === 255 ? this.k('B') : this.k('A', i + 1)]);
    }
    return out;
  }
}

/** What a key under `P A` is, once the prefix is stripped. */
export type InodeKey =
  | { kind: 'attr'; ino: bigint }
  | { kind: 'dentry'; ino: bigint; name: Buffer }
  | { kind: 'parent'; ino: bigint; parent: bigint }
  | { kind: 'chunk'; ino: bigint; index: number }
  | { kind: 'symlink'; ino: bigint }
  | { kind: 'other'; ino: bigint; tag: number };

/**
 * Parses a key of the `A` family; `offset` is where `A` sits (the prefix length).
 * Returns undefined for keys too short to be one.
 */
export function parseInodeKey(key: Buffer, offset: number): InodeKey | undefined {
  if (key.length < offset + 10 || key[offset] !== 0x41) return undefined;
  const ino = key.readBigUInt64LE(offset + 1);
  const tag = key[offset + 9]!;
  const rest = offset + 10;
  switch (tag) {
    case 0x49: // I
      return { kind: 'attr', ino };
    case 0x44: // D
      return { kind: 'dentry', ino, name: key.subarray(rest) };
    case 0x50: // P
      return key.length === rest + 8 ? { kind: 'parent', ino, parent: key.readBigUInt64LE(rest) } : { kind: 'other', ino, tag };
    case 0x43: // C
      return key.length === rest + 4 ? { kind: 'chunk', ino, index: key.readUInt32BE(rest) } : { kind: 'other', ino, tag };
    case 0x53: // S
      return { kind: 'symlink', ino };
    default:
      return { kind: 'other', ino, tag };
  }
}
