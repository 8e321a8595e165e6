/** The worked hex examples of juicefs-metadata.md §12, used as golden vectors, and codec round trips. */
import { describe, expect, it } from 'vitest';
import { ROOT_INODE, TRASH_INODE, VolumeKeys, parseInodeKey } from '../../../server/meta/tkv/keys.js';
import {
  CorruptMetadataError,
  TYPE_DIR,
  align4K,
  decodeAttr,
  decodeCounter,
  decodeDentry,
  decodeDirQuota,
  decodeDirStat,
  decodeSlices,
  encodeAttr,
  encodeCounter,
  encodeDentry,
  encodeDirQuota,
  encodeDirStat,
  encodeSlices,
} from '../../../server/meta/tkv/records.js';
import { rootAttr } from '../../../server/meta/tkv/tkv-volume.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const alice = new VolumeKeys(Buffer.from('alice'));

describe('TKV keys (§12 golden vectors, prefix alice)', () => {
  it.each([
    ['attr key of inode 1', alice.attr(1n), '61 6c 69 63 65 fd 41 01 00 00 00 00 00 00 00 49'],
    ['dentry key (1, docs)', alice.dentry(1n, Buffer.from('docs')), '61 6c 69 63 65 fd 41 01 00 00 00 00 00 00 00 44 64 6f 63 73'],
    ['usedSpace key', alice.counter('usedSpace'), '61 6c 69 63 65 fd 43 75 73 65 64 53 70 61 63 65'],
    ['totalInodes key', alice.counter('totalInodes'), '61 6c 69 63 65 fd 43 74 6f 74 61 6c 49 6e 6f 64 65 73'],
    ['nextInode key', alice.counter('nextInode'), '61 6c 69 63 65 fd 43 6e 65 78 74 49 6e 6f 64 65'],
    ['setting key', alice.setting(), '61 6c 69 63 65 fd 73 65 74 74 69 6e 67'],
    ['trash-root attr key', alice.attr(TRASH_INODE), '61 6c 69 63 65 fd 41 00 00 00 10 ff ff ff 7f 49'],
    ['dir-stat key of inode 1', alice.dirStat(1n), '61 6c 69 63 65 fd 55 01 00 00 00 00 00 00 00'],
    ['dir-quota key of inode 1', alice.dirQuota(1n), '61 6c 69 63 65 fd 51 44 01 00 00 00 00 00 00 00'],
    ['chunk key (6, 1)', alice.chunk(6n, 1), '61 6c 69 63 65 fd 41 06 00 00 00 00 00 00 00 43 00 00 00 01'],
    ['hard-link parent key (4, 3)', alice.parent(4n, 3n), '61 6c 69 63 65 fd 41 04 00 00 00 00 00 00 00 50 03 00 00 00 00 00 00 00'],
    ['etcd setting key (/alice)', new VolumeKeys(Buffer.from('/alice')).setting(), '2f 61 6c 69 63 65 fd 73 65 74 74 69 6e 67'],
  ])('%s', (_name, got, want) => {
    expect(got.toString('hex')).toBe(hex(want).toString('hex'));
  });

  it('parses inode keys back, names as raw bytes', () => {
    const gbk = Buffer.from([0xd6, 0xd0, 0xce, 0xc4]);
    expect(parseInodeKey(alice.dentry(7n, gbk), alice.p.length)).toEqual({ kind: 'dentry', ino: 7n, name: gbk });
    expect(parseInodeKey(alice.attr(TRASH_INODE), alice.p.length)).toEqual({ kind: 'attr', ino: TRASH_INODE });
    expect(parseInodeKey(alice.parent(4n, 3n), alice.p.length)).toEqual({ kind: 'parent', ino: 4n, parent: 3n });
    expect(parseInodeKey(alice.chunk(6n, 1), alice.p.length)).toEqual({ kind: 'chunk', ino: 6n, index: 1 });
  });

  it('partitions cover the inode range exactly, in order, without overlap', () => {
    const parts = alice.inodePartitions();
    const [s, e] = alice.inodeRange();
    expect(parts[0]![0].equals(s)).toBe(true);
    expect(parts[255]![1].equals(e)).toBe(true);
    for (let i = 1; i < parts.length; i++) expect(parts[i]![0].equals(parts[i - 1]![1])).toBe(true);
    const k = alice.attr(0x1234n);
    const holder = parts.filter(([a, b]) => Buffer.compare(k, a) >= 0 && Buffer.compare(k, b) < 0);
    expect(holder).toHaveLength(1);
  });

  it('volume a and a-b have disjoint ranges', () => {
    const [as, ae] = new VolumeKeys(Buffer.from('a')).range();
    const [bs, be] = new VolumeKeys(Buffer.from('a-b')).range();
    expect(Buffer.compare(ae, bs) <= 0 || Buffer.compare(be, as) <= 0).toBe(true);
  });
});

describe('TKV records (§12 golden vectors)', () => {
  it('dentry value', () => {
    expect(encodeDentry({ type: TYPE_DIR, ino: 2n }).toString('hex')).toBe('020000000000000002');
    expect(decodeDentry(hex('020000000000000002'), 'k')).toEqual({ type: 2, ino: 2n });
  });

  it('counters are LE i64', () => {
    expect(encodeCounter(115_392_512n).toString('hex')).toBe('00c0e00600000000');
    expect(encodeCounter(2n).toString('hex')).toBe('0200000000000000');
    expect(decodeCounter(hex('00c0e00600000000'), 'k')).toBe(115_392_512n);
    expect(decodeCounter(undefined, 'k')).toBe(0n);
  });

  it('dir stat and dir quota are BE', () => {
    expect(encodeDirStat({ length: 24n, space: 8192n, inodes: 2n }).toString('hex')).toBe(hex('00000000 00000018 00000000 00002000 00000000 00000002').toString('hex'));
    const q = { maxSpace: 1n << 30n, maxInodes: 100n, usedSpace: 8192n, usedInodes: 2n };
    expect(encodeDirQuota(q).toString('hex')).toBe(hex('0000000040000000 0000000000000064 0000000000002000 0000000000000002').toString('hex'));
    expect(decodeDirQuota(encodeDirQuota({ ...q, maxSpace: -1n }), 'k').maxSpace).toBe(-1n);
    expect(
      encodeDirQuota({ ...q, maxSpace: -1n })
        .subarray(0, 8)
        .toString('hex'),
    ).toBe('ffffffffffffffff');
    expect(decodeDirStat(encodeDirStat({ length: 1n, space: 2n, inodes: 3n }), 'k')).toEqual({ length: 1n, space: 2n, inodes: 3n });
  });

  it('slice', () => {
    const s = { pos: 0, id: 5n, size: 64 << 20, off: 0, len: 64 << 20 };
    expect(encodeSlices([s]).toString('hex')).toBe(hex('00000000 0000000000000005 04000000 00000000 04000000').toString('hex'));
    expect(decodeSlices(encodeSlices([s, { ...s, id: 6n }]), 'k')).toEqual([s, { ...s, id: 6n }]);
  });

  it('root attr as format writes it at now = 1,700,000,000', () => {
    const want = hex(`00 21 ff 00 00 00 00 00 00 00 00 00 00 00 00 65
      53 f1 00 00 00 00 00 00 00 00 00 65 53 f1 00 00
      00 00 00 00 00 00 00 65 53 f1 00 00 00 00 00 00
      00 00 02 00 00 00 00 00 00 10 00 00 00 00 00 00
      00 00 00 00 00 00 01 00`);
    const got = encodeAttr(rootAttr(1_700_000_000n, 0o777));
    expect(got.length).toBe(72);
    expect(got.toString('hex')).toBe(want.toString('hex'));
    expect(decodeAttr(want, 'k')).toMatchObject({ type: 2, mode: 0o777, nlink: 2, length: 4096n, parent: ROOT_INODE });
  });

  it('attr with ACL ids and tier round-trips at 80/81 bytes', () => {
    const a = { ...rootAttr(1n, 0o755), accessAcl: 3, defaultAcl: 4, tier: 2 };
    const enc = encodeAttr(a);
    expect(enc.length).toBe(81);
    expect(decodeAttr(enc, 'k')).toMatchObject({ accessAcl: 3, defaultAcl: 4, tier: 2, parent: 1n });
    expect(encodeAttr({ ...a, tier: 0 }).length).toBe(80);
  });

  it('corrupt values name their key', () => {
    expect(() => decodeAttr(Buffer.alloc(40), 'abcd')).toThrow(CorruptMetadataError);
    expect(() => decodeAttr(Buffer.alloc(40), 'abcd')).toThrow(/abcd/);
    expect(() => decodeCounter(Buffer.alloc(4), 'c0ffee')).toThrow(/c0ffee.*4 bytes/);
    expect(() => decodeDentry(Buffer.alloc(3), 'k1')).toThrow(/k1/);
  });

  it('align4K counts an empty file as 4 KiB', () => {
    expect(align4K(0n)).toBe(4096n);
    expect(align4K(1n)).toBe(4096n);
    expect(align4K(4096n)).toBe(4096n);
    expect(align4K(4097n)).toBe(8192n);
  });
});
