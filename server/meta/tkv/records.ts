/**
 * Binary records of the JuiceFS metadata (juicefs-metadata.md §3, §4, §7): attributes, dentries,
 * counters, directory stats, directory quotas and chunk slices. Values are big-endian except
 * counters, which are little-endian. Every decoder names the key it failed on.
 */

/** A value that does not decode as its key says it should. */
export class CorruptMetadataError extends Error {
  constructor(
    readonly keyHex: string,
    reason: string,
  ) {
    super(`corrupt metadata at key ${keyHex}: ${reason}`);
    this.name = 'CorruptMetadataError';
  }
}

/** Inode types (the top 4 bits of the mode word). */
export const TYPE_FILE = 1;
export const TYPE_DIR = 2;
export const TYPE_SYMLINK = 3;

/** An inode attribute (the 71-byte core plus optional ACL ids and tier). */
export interface Attr {
  flags: number;
  type: number;
  /** Permission bits including suid/sgid/sticky (modeword & 0x0FFF). */
  mode: number;
  uid: number;
  gid: number;
  atime: bigint;
  atimensec: number;
  mtime: bigint;
  mtimensec: number;
  ctime: bigint;
  ctimensec: number;
  nlink: number;
  length: bigint;
  rdev: number;
  /** 0 means several parents: see the `A ino P parent` keys. */
  parent: bigint;
  accessAcl?: number;
  defaultAcl?: number;
  tier?: number;
}

/** Encodes an attr exactly as JuiceFS writes it, trailing zero pad byte included (72 bytes plain). */
export function encodeAttr(a: Attr): Buffer {
  const acl = (a.accessAcl ?? 0) !== 0 || (a.defaultAcl ?? 0) !== 0;
  const tier = (a.tier ?? 0) !== 0;
  const b = Buffer.alloc(71 + (acl ? 8 : 0) + (tier ? 1 : 0) + 1);
  b.writeUInt8(a.flags, 0);
  b.writeUInt16BE(((a.type & 0xf) << 12) | (a.mode & 0x0fff), 1);
  b.writeUInt32BE(a.uid, 3);
  b.writeUInt32BE(a.gid, 7);
  b.writeBigInt64BE(a.atime, 11);
  b.writeUInt32BE(a.atimensec, 19);
  b.writeBigInt64BE(a.mtime, 23);
  b.writeUInt32BE(a.mtimensec, 31);
  b.writeBigInt64BE(a.ctime, 35);
  b.writeUInt32BE(a.ctimensec, 43);
  b.writeUInt32BE(a.nlink, 47);
  b.writeBigUInt64BE(a.length, 51);
  b.writeUInt32BE(a.rdev, 59);
  b.writeBigUInt64BE(a.parent, 63);
  let o = 71;
  if (acl) {
    b.writeUInt32BE(a.accessAcl ?? 0, o);
    b.writeUInt32BE(a.defaultAcl ?? 0, o + 4);
    o += 8;
  }
  if (tier) b.writeUInt8(a.tier!, o);
  return b;
}

/** Decodes an attr as JuiceFS's `Unmarshal` does: any length ≥ 63 (59 + rdev). */
export function decodeAttr(v: Uint8Array, keyHex: string): Attr {
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (b.length < 63) throw new CorruptMetadataError(keyHex, `attr value is ${b.length} bytes, expected at least 63`);
  const modeword = b.readUInt16BE(1);
  const a: Attr = {
    flags: b[0]!,
    type: modeword >> 12,
    mode: modeword & 0x0fff,
    uid: b.readUInt32BE(3),
    gid: b.readUInt32BE(7),
    atime: b.readBigInt64BE(11),
    atimensec: b.readUInt32BE(19),
    mtime: b.readBigInt64BE(23),
    mtimensec: b.readUInt32BE(31),
    ctime: b.readBigInt64BE(35),
    ctimensec: b.readUInt32BE(43),
    nlink: b.readUInt32BE(47),
    length: b.readBigUInt64BE(51),
    rdev: b.readUInt32BE(59),
    parent: 0n,
  };
  let o = 63;
  if (b.length - o >= 8) {
    a.parent = b.readBigUInt64BE(o);
    o += 8;
  }
  if (b.length - o >= 8) {
    a.accessAcl = b.readUInt32BE(o);
    a.defaultAcl = b.readUInt32BE(o + 4);
    o += 8;
  }
  if (b.length - o >= 1 && b[o] !== 0) a.tier = b[o];
  return a;
}

/** Just the fields a walk needs, read without building an object per field. */
export function attrSummary(v: Uint8Array, keyHex: string): { type: number; nlink: number; length: bigint; parent: bigint; mtime: number } {
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (b.length < 63) throw new CorruptMetadataError(keyHex, `attr value is ${b.length} bytes, expected at least 63`);
  return {
    type: b.readUInt16BE(1) >> 12,
    nlink: b.readUInt32BE(47),
    length: b.readBigUInt64BE(51),
    parent: b.length >= 71 ? b.readBigUInt64BE(63) : 0n,
    /** Seconds since the epoch (the walk's age buckets). */
    mtime: Number(b.readBigInt64BE(23)),
  };
}

/** A directory entry value: the child's type and inode. */
export interface Dentry {
  type: number;
  ino: bigint;
}

export function encodeDentry(d: Dentry): Buffer {
  const b = Buffer.alloc(9);
  b.writeUInt8(d.type, 0);
  b.writeBigUInt64BE(d.ino, 1);
  return b;
}

export function decodeDentry(v: Uint8Array, keyHex: string): Dentry {
  if (v.length !== 9) throw new CorruptMetadataError(keyHex, `dentry value is ${v.length} bytes, expected 9`);
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return { type: b[0]!, ino: b.readBigUInt64BE(1) };
}

/** Counters (`C…`) are 8-byte little-endian signed integers. */
export function encodeCounter(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(n);
  return b;
}

/** A missing counter is 0; any length other than 8 is corrupt (JuiceFS panics on it). */
export function decodeCounter(v: Uint8Array | undefined, keyHex: string): bigint {
  if (v === undefined) return 0n;
  if (v.length !== 8) throw new CorruptMetadataError(keyHex, `counter value is ${v.length} bytes, expected 8`);
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).readBigInt64LE(0);
}

/** Directory stat (`U ino`): length, space, inodes of the direct children, i64 BE each. */
export interface DirStat {
  length: bigint;
  space: bigint;
  inodes: bigint;
}

export function encodeDirStat(s: DirStat): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigInt64BE(s.length, 0);
  b.writeBigInt64BE(s.space, 8);
  b.writeBigInt64BE(s.inodes, 16);
  return b;
}

export function decodeDirStat(v: Uint8Array, keyHex: string): DirStat {
  if (v.length !== 24) throw new CorruptMetadataError(keyHex, `dir stat is ${v.length} bytes, expected 24`);
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return { length: b.readBigInt64BE(0), space: b.readBigInt64BE(8), inodes: b.readBigInt64BE(16) };
}

/** Directory quota (`QD ino`): limits (≤ 0 = unlimited) and usage, i64 BE each. */
export interface DirQuota {
  maxSpace: bigint;
  maxInodes: bigint;
  usedSpace: bigint;
  usedInodes: bigint;
}

export function encodeDirQuota(q: DirQuota): Buffer {
  const b = Buffer.alloc(32);
  b.writeBigInt64BE(q.maxSpace, 0);
  b.writeBigInt64BE(q.maxInodes, 8);
  b.writeBigInt64BE(q.usedSpace, 16);
  b.writeBigInt64BE(q.usedInodes, 24);
  return b;
}

export function decodeDirQuota(v: Uint8Array, keyHex: string): DirQuota {
  if (v.length !== 32) throw new CorruptMetadataError(keyHex, `dir quota is ${v.length} bytes, expected 32`);
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return { maxSpace: b.readBigInt64BE(0), maxInodes: b.readBigInt64BE(8), usedSpace: b.readBigInt64BE(16), usedInodes: b.readBigInt64BE(24) };
}

/** One slice of a chunk: where it sits in the chunk and which part of which object it uses. */
export interface Slice {
  pos: number;
  id: bigint;
  size: number;
  off: number;
  len: number;
}

export function encodeSlices(slices: Slice[]): Buffer {
  const b = Buffer.alloc(24 * slices.length);
  slices.forEach((s, i) => {
    const o = i * 24;
    b.writeUInt32BE(s.pos, o);
    b.writeBigUInt64BE(s.id, o + 4);
    b.writeUInt32BE(s.size, o + 12);
    b.writeUInt32BE(s.off, o + 16);
    b.writeUInt32BE(s.len, o + 20);
  });
  return b;
}

export function decodeSlices(v: Uint8Array, keyHex: string): Slice[] {
  if (v.length % 24 !== 0) throw new CorruptMetadataError(keyHex, `chunk value is ${v.length} bytes, not a multiple of 24`);
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const out: Slice[] = [];
  for (let o = 0; o < b.length; o += 24) {
    out.push({ pos: b.readUInt32BE(o), id: b.readBigUInt64BE(o + 4), size: b.readUInt32BE(o + 12), off: b.readUInt32BE(o + 16), len: b.readUInt32BE(o + 20) });
  }
  return out;
}

/** Space as JuiceFS counts it for a regular file: rounded up to 4 KiB, and 4 KiB when empty. */
export function align4K(length: bigint): bigint {
  if (length <= 0n) return 4096n;
  return ((length + 4095n) / 4096n) * 4096n;
}

/** Space an inode of any type takes in the counters. */
export function inodeSpace(type: number, length: bigint): bigint {
  return type === TYPE_FILE ? align4K(length) : 4096n;
}
