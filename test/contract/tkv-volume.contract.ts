/**
 * JuiceFS TKV layout on a real engine: format, counters, walk, freeze. Run against every engine
 * (memory fake, local SQLite, etcd, TiKV fake) with the prefix style of that engine.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hexKey, type KvEngine, type KvPair, type KvTxn, type TxnOptions } from '../../server/engines/kv.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE, TRASH_INODE } from '../../server/meta/tkv/keys.js';
import { CorruptMetadataError, align4K, encodeAttr, encodeCounter } from '../../server/meta/tkv/records.js';
import { getInteger } from '../../server/meta/tkv/raw-json.js';
import { PrefixNotEmptyError, TkvVolume, readCountersMany, rootAttr } from '../../server/meta/tkv/tkv-volume.js';
import { counterMismatch, walkVolume } from '../../server/meta/tkv/walk.js';

async function allKeys(engine: KvEngine, v: TkvVolume): Promise<KvPair[]> {
  const out: KvPair[] = [];
  for await (const p of engine.scan(...v.keys.range())) out.push(p);
  return out;
}

/** Builds the reference tree; returns the figures the test expects, computed independently. */
async function buildTree(engine: KvEngine, v: TkvVolume) {
  const fx = new FixtureBuilder(engine, v.keys);
  const gbk = Buffer.from([0xd6, 0xd0, 0xce, 0xc4]); // "中文" in GBK: not UTF-8
  const a = await fx.mkdir(ROOT_INODE, 'a');
  await fx.file(a, 'f1', 10);
  await fx.file(a, 'f2', 5000);
  const b = await fx.mkdir(a, 'b');
  await fx.file(b, 'empty', 0);
  const g = await fx.mkdir(b, gbk);
  await fx.file(g, gbk, 4096);
  const h = await fx.file(a, 'h', 100, { linkable: true });
  const c = await fx.mkdir(ROOT_INODE, 'c');
  await fx.link(h, c, 'h2');
  await fx.link(h, a, 'h3');
  await fx.symlink(ROOT_INODE, 's', 'a/f1');
  const d1 = await fx.mkdir(ROOT_INODE, 'd1');
  await fx.file(d1, 'big', 104_857_600 + 36); // 2 chunks
  const hour = await fx.trashDir('2021-12-02-09');
  await fx.file(hour, '1-27-tf1', 11);
  await fx.file(hour, '1-28-tdf1', 10_485_760);
  const counters = await fx.finish();
  const K = 4096n;
  // Independent arithmetic: align4K per file, 4 KiB per dir/symlink, each inode once.
  const gDir = { bytes: K, inodes: 1n }; // the gbk file
  const bDir = { bytes: K + K + gDir.bytes, inodes: 1n + 1n + gDir.inodes }; // empty file, dir g, subtree
  const aDir = { bytes: K + align4K(5000n) + K + bDir.bytes + K, inodes: 1n + 1n + 1n + bDir.inodes + 1n }; // f1 f2 b h
  const cDir = { bytes: K, inodes: 1n }; // h2 is a second link of h: counted under c too, as `du c` would
  const d1Dir = { bytes: align4K(104_857_636n), inodes: 1n };
  const tree = {
    bytes: aDir.bytes + K + K + K + d1Dir.bytes + K, // a, c, s, d1 and their subtrees; h once (inside a)
    inodes: aDir.inodes + 1n + 1n + 1n + d1Dir.inodes + 1n,
  };
  const trash = { bytes: K + K + align4K(10_485_760n), inodes: 3n };
  return { counters, tree, trash, aDir, bDir, cDir, gbk, ids: { a, b, c, g, h, d1, hour } };
}

/** Registers the TKV layout suite; `prefixBytes(name)` gives the engine's prefix for a volume name. */
export function tkvVolumeContract(name: string, factory: () => Promise<KvEngine>, prefixBytes: (n: string) => Buffer, opts: { skip?: boolean } = {}): void {
  describe.skipIf(opts.skip)(`JuiceFS TKV layout on ${name}`, () => {
    let engine: KvEngine;
    beforeAll(async () => {
      engine = await factory();
    });
    afterAll(async () => {
      await engine?.close();
    });
    const volume = (n = `v${randomBytes(4).toString('hex')}`) => new TkvVolume(engine, prefixBytes(n));

    it('formats exactly the keys juicefs format writes, and refuses a second format', async () => {
      const v = volume();
      const now = new Date(1_700_000_000_000);
      const { setting } = await v.format({ name: 'vol-test', storage: 'file', bucket: '/var/jfs/', uuid: '11111111-2222-4333-8444-555555555555' }, now);
      const got = await allKeys(engine, v);
      const want: Array<[Buffer, Buffer]> = [
        [v.keys.attr(ROOT_INODE), encodeAttr(rootAttr(1_700_000_000n, 0o777))],
        [v.keys.attr(TRASH_INODE), encodeAttr(rootAttr(1_700_000_000n, 0o555))],
        [v.keys.counter('nextChunk'), encodeCounter(1n)],
        [v.keys.counter('nextInode'), encodeCounter(2n)],
        [v.keys.setting(), Buffer.from(setting)],
      ];
      want.sort((x, y) => Buffer.compare(x[0], y[0]));
      expect(got.map((p) => [hexKey(p.key), hexKey(p.value)])).toEqual(want.map(([k, val]) => [hexKey(k), hexKey(val)]));
      expect(v.keys.counter('nextInode').toString('hex').endsWith(Buffer.from('CnextInode').toString('hex'))).toBe(true);
      await expect(v.format({ name: 'vol-test', storage: 'file', bucket: '/x/' })).rejects.toBeInstanceOf(PrefixNotEmptyError);
      expect((await allKeys(engine, v)).length).toBe(5);
      expect((await v.readSetting()).bucket).toBe('/var/jfs/');
    });

    it('formats a v0.17 volume: no trash root, nextSession = 1, plaintext secret', async () => {
      const v = volume();
      await v.format({ name: 'vol-old', storage: 'file', bucket: '/b/', secretKey: 'plain', version: '0.17' });
      const keys = (await allKeys(engine, v)).map((p) => hexKey(p.key));
      expect(keys).not.toContain(hexKey(v.keys.attr(TRASH_INODE)));
      expect(Buffer.from((await engine.get(v.keys.counter('nextSession')))!).readBigInt64LE()).toBe(1n);
      expect(JSON.parse(await v.readSettingText()).SecretKey).toBe('plain');
    });

    it('walks a fixture tree: per-directory figures, hard links once, trash apart, raw names kept', async () => {
      const v = volume();
      await v.format({ name: 'vol-walk', storage: 'file', bucket: '/b/' });
      const t = await buildTree(engine, v);
      const counters = await v.readCounters();
      expect(counters).toEqual({ usedSpace: t.counters.usedSpace, totalInodes: t.counters.totalInodes });
      const w = await walkVolume(engine, v.keys, { concurrency: 3, pageSize: 7 });
      expect(w.tree).toMatchObject({ bytes: t.tree.bytes, inodes: t.tree.inodes });
      expect(w.trash).toMatchObject({ bytes: t.trash.bytes, inodes: t.trash.inodes });
      expect(w.tree.bytes + w.trash.bytes).toBe(counters.usedSpace);
      expect(counterMismatch(w, counters)).toBeNull();
      expect(w.tree.inodes + w.trash.inodes).toBe(counters.totalInodes);
      expect(w.detached).toEqual({ bytes: 0n, inodes: 0n });
      const byIno = new Map(w.directories.map((d) => [d.inode, d]));
      expect(byIno.get(t.ids.a)).toMatchObject({ path: '/a', depth: 1, bytes: t.aDir.bytes, inodes: t.aDir.inodes, inTrash: false });
      expect(byIno.get(t.ids.b)).toMatchObject({ path: '/a/b', depth: 2, bytes: t.bDir.bytes, directInodes: 2n });
      expect(byIno.get(t.ids.c)).toMatchObject({ bytes: t.cDir.bytes, inodes: t.cDir.inodes });
      expect(byIno.get(t.ids.d1)!.logicalBytes).toBe(104_857_636n);
      const g = byIno.get(t.ids.g)!;
      expect(Buffer.from(g.pathBase64, 'base64').equals(Buffer.concat([Buffer.from('/a/b/'), t.gbk]))).toBe(true);
      expect(g.path).toContain('\uFFFD');
      const hour = byIno.get(t.ids.hour)!;
      expect(hour).toMatchObject({ path: '/.trash/2021-12-02-09', inTrash: true, depth: 2 });
      expect(byIno.get(ROOT_INODE)).toMatchObject({ path: '/', depth: 0, bytes: t.tree.bytes });
      expect(w.keysRead).toBeGreaterThan(20);
    });

    it('keeps volumes a and a-b apart: neither sees the other', async () => {
      const tag = randomBytes(3).toString('hex');
      const a = volume(`a${tag}`);
      const ab = volume(`a${tag}-b`);
      await a.format({ name: 'vol-a', storage: 'file', bucket: '/a/' });
      await ab.format({ name: 'vol-ab', storage: 'file', bucket: '/ab/' });
      const fa = new FixtureBuilder(engine, a.keys);
      await fa.file(ROOT_INODE, 'only-in-a', 1);
      await fa.finish();
      const fb = new FixtureBuilder(engine, ab.keys);
      for (let i = 0; i < 5; i++) await fb.file(ROOT_INODE, `f${i}`, 8192);
      await fb.finish();
      const [ca, cab] = await readCountersMany(engine, [a, ab]);
      expect(ca).toEqual({ usedSpace: 4096n, totalInodes: 1n });
      expect(cab).toEqual({ usedSpace: 5n * 8192n, totalInodes: 5n });
      expect((await walkVolume(engine, a.keys)).tree).toMatchObject({ bytes: 4096n, inodes: 1n });
      expect((await walkVolume(engine, ab.keys)).tree).toMatchObject({ bytes: 40960n, inodes: 5n });
      expect((await a.readSetting()).bucket).toBe('/a/');
      for (const p of await allKeys(engine, a)) expect(Buffer.from(p.key.subarray(0, a.keys.p.length)).equals(a.keys.p)).toBe(true);
    });

    it('freezes and unfreezes by Capacity/Inodes, every other byte of setting kept, idempotently', async () => {
      const v = volume();
      await v.format({ name: 'vol-frz', storage: 's3', bucket: 'http://s3/b', accessKey: 'AK', secretKey: 'SK' });
      const before = await v.readSettingText();
      expect((await v.setLimits({ capacity: 1n, inodes: 5n })).changed).toBe(true);
      const frozen = await v.readSettingText();
      expect(getInteger(frozen, 'Capacity')).toBe(1n);
      expect(getInteger(frozen, 'Inodes')).toBe(5n);
      expect(frozen.replace('"Capacity": 1', '"Capacity": 0').replace('"Inodes": 5', '"Inodes": 0')).toBe(before);
      expect((await v.setLimits({ capacity: 1n, inodes: 5n })).changed).toBe(false);
      await v.setLimits({ capacity: 0n, inodes: 0n });
      expect(await v.readSettingText()).toBe(before); // "Capacity": 0 written explicitly, as format did
    });

    it('detects a concurrent setting change during a freeze, retries, and loses neither change', async () => {
      const v = volume();
      await v.format({ name: 'vol-cas', storage: 'file', bucket: '/b/' });
      let interfered = 0;
      const racing: KvEngine = {
        kind: engine.kind,
        get: (k) => engine.get(k),
        batchGet: (k) => engine.batchGet(k),
        scan: (s, e, o) => engine.scan(s, e, o),
        close: async () => {},
        txn: <T>(fn: (t: KvTxn) => Promise<T>, o?: TxnOptions) =>
          engine.txn(async (t) => {
            const r = await fn(t);
            if (interfered++ === 0) {
              // Someone runs `juicefs config --upload-limit` between our read and our commit.
              await engine.txn(async (o2) => {
                const s = Buffer.from((await o2.get(v.keys.setting()))!).toString();
                o2.put(v.keys.setting(), Buffer.from(s.replace('"TrashDays": 1', '"UploadLimit": 100,\n"TrashDays": 1')));
              });
            }
            return r;
          }, o),
      };
      const res = await new TkvVolume(racing, v.keys.p.subarray(0, v.keys.p.length - 1)).setLimits({ capacity: 4096n, inodes: 0n });
      expect(res.changed).toBe(true);
      expect(interfered).toBe(2); // first attempt conflicted, second committed
      const s = JSON.parse(await v.readSettingText());
      expect(s.UploadLimit).toBe(100);
      expect(s.Capacity).toBe(4096);
    });

    it('refuses to freeze a corrupt setting, naming the key, and never writes', async () => {
      const v = volume();
      await v.format({ name: 'vol-bad', storage: 'file', bucket: '/b/' });
      await engine.txn(async (t) => t.put(v.keys.setting(), Buffer.from('{"Name": "vol-bad", "UUID": ')));
      const err = await v.setLimits({ capacity: 1n, inodes: 1n }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CorruptMetadataError);
      expect(String(err)).toContain(hexKey(v.keys.setting()));
      expect(await v.readSettingText()).toBe('{"Name": "vol-bad", "UUID": ');
    });

    it('reports a short attr as corrupt, naming its key', async () => {
      const v = volume();
      await v.format({ name: 'vol-short', storage: 'file', bucket: '/b/' });
      await engine.txn(async (t) => t.put(v.keys.attr(9n), Buffer.alloc(20)));
      await expect(walkVolume(engine, v.keys)).rejects.toThrow(hexKey(v.keys.attr(9n)));
    });

    it('reports counters that disagree with the tree instead of hiding it', async () => {
      const v = volume();
      await v.format({ name: 'vol-drift', storage: 'file', bucket: '/b/' });
      const fx = new FixtureBuilder(engine, v.keys);
      await fx.file(ROOT_INODE, 'x', 1);
      await fx.finish();
      await engine.txn(async (t) => t.put(v.keys.counter('usedSpace'), encodeCounter(1n)));
      const w = await walkVolume(engine, v.keys);
      expect(w.tree.bytes).toBe(4096n);
      expect(counterMismatch(w, await v.readCounters())).toEqual({ bytesDelta: 4095n, inodesDelta: 0n });
    });
  });
}
