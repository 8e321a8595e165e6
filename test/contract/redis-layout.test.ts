/**
 * JuiceFS Redis layout on a real Redis: format (v1.1 and v0.17, standalone and `{db}` cluster
 * tags), counters, the Capacity/Inodes CAS, the walk and the fixture builder. Mirrors
 * `tkv-volume.contract.ts` assertion for assertion where the layouts agree.
 *
 * Uses only databases 5–9 (other files use other numbers) and flushes them around every test.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { hexKey } from '../../server/engines/kv.js';
import { RedisFixtureBuilder } from '../../server/meta/redis/fixture.js';
import { ROOT_INODE, RedisKeys, TRASH_INODE } from '../../server/meta/redis/keys.js';
import { decodeQuotaLimits, encodeQuotaLimits } from '../../server/meta/redis/records.js';
import { DatabaseNotEmptyError, RedisVolume } from '../../server/meta/redis/redis-volume.js';
import { walkRedisVolume } from '../../server/meta/redis/walk.js';
import { getInteger } from '../../server/meta/tkv/raw-json.js';
import { CorruptMetadataError, align4K, decodeSlices, encodeAttr } from '../../server/meta/tkv/records.js';
import { PrefixNotEmptyError, rootAttr } from '../../server/meta/tkv/tkv-volume.js';
import { counterMismatch, walkVolume } from '../../server/meta/tkv/walk.js';
import { redisAvailable, redisClient } from '../support/redis.js';
import { MemoryEngine } from '../../server/engines/memory/memory-engine.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { NOW, buildDemoTree } from '../unit/insights/demo-tree.js';

const available = await redisAvailable();
const DBS = [5, 6, 7, 8, 9] as const;

/** Every key and its raw value (strings only), sorted, as hex: what a format wrote, byte for byte. */
async function dump(r: Redis): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  let cursor = '0';
  do {
    const [next, ks] = await r.scanBuffer(cursor, 'COUNT', 1000);
    cursor = next.toString();
    for (const k of ks) out.push([hexKey(k), (await r.type(k)) === 'string' ? hexKey((await r.getBuffer(k))!) : await r.type(k)]);
  } while (cursor !== '0');
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** The reference tree of the TKV suite, built on Redis; figures computed independently. */
async function buildTree(r: Redis, keys = new RedisKeys()) {
  const fx = new RedisFixtureBuilder(r, keys, { batchOps: 7 });
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
  const s = await fx.symlink(ROOT_INODE, 's', 'a/f1');
  const d1 = await fx.mkdir(ROOT_INODE, 'd1');
  const big = await fx.file(d1, 'big', 104_857_600 + 36); // 2 chunks
  const hour = await fx.trashDir('2021-12-02-09');
  await fx.file(hour, '1-27-tf1', 11);
  await fx.file(hour, '1-28-tdf1', 10_485_760);
  const counters = await fx.finish();
  const K = 4096n;
  const gDir = { bytes: K, inodes: 1n };
  const bDir = { bytes: K + K + gDir.bytes, inodes: 1n + 1n + gDir.inodes };
  const aDir = { bytes: K + align4K(5000n) + K + bDir.bytes + K, inodes: 1n + 1n + 1n + bDir.inodes + 1n }; // f1 f2 b h (h3 = h)
  const cDir = { bytes: K, inodes: 1n }; // h2 is a second link of h: counted under c too, as `du c` would
  const d1Dir = { bytes: align4K(104_857_636n), inodes: 1n };
  const tree = {
    bytes: aDir.bytes + K + K + K + d1Dir.bytes + K, // h once in the volume total (inside a)
    inodes: aDir.inodes + 1n + 1n + 1n + d1Dir.inodes + 1n,
  };
  const trash = { bytes: K + K + align4K(10_485_760n), inodes: 3n };
  return { counters, tree, trash, aDir, bDir, cDir, gbk, ids: { a, b, c, g, h, s, d1, big, hour } };
}

describe.skipIf(!available)('JuiceFS Redis layout', () => {
  const r = {} as Record<(typeof DBS)[number], Redis>;
  beforeAll(() => {
    for (const db of DBS) r[db] = redisClient(db);
  });
  afterAll(async () => {
    for (const db of DBS) await r[db]?.quit();
  });
  const flushAll = async () => {
    for (const db of DBS) await r[db].flushdb();
  };
  beforeEach(flushAll);
  afterEach(async () => {
    vi.restoreAllMocks();
    await flushAll();
  });

  it('formats exactly the keys juicefs format writes on Redis (v1.1), no counters, and refuses a second format', async () => {
    const v = new RedisVolume(r[5]);
    const now = new Date(1_700_000_000_000);
    const { setting } = await v.format({ name: 'vol-test', storage: 'file', bucket: '/var/jfs/', uuid: '11111111-2222-4333-8444-555555555555' }, now);
    const want: Array<[string, string]> = [
      [hexKey(Buffer.from('i1')), hexKey(encodeAttr(rootAttr(1_700_000_000n, 0o777)))],
      [hexKey(Buffer.from('i9223372032828243968')), hexKey(encodeAttr(rootAttr(1_700_000_000n, 0o555)))],
      [hexKey(Buffer.from('setting')), hexKey(Buffer.from(setting))],
    ];
    expect(await dump(r[5])).toEqual(want.sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    // The root attr is byte-identical to the worked example of the notes (§12).
    expect((await r[5].getBuffer('i1'))!.toString('hex')).toBe(
      '0021ff00000000000000000000000065' + '53f10000000000000000006553f10000' + '000000000000006553f1000000000000' + '00000200000000000010000000000000' + '0000000000000100',
    );
    expect(await v.readCounters()).toEqual({ usedSpace: 0n, totalInodes: 0n, absent: true }); // no counter keys yet: the setting tells it from a vanished volume
    expect(await r[5].exists('nextinode', 'nextchunk', 'nextsession', 'usedSpace', 'totalInodes')).toBe(0);
    const err = await v.format({ name: 'vol-test', storage: 'file', bucket: '/x/' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseNotEmptyError);
    expect(err).toBeInstanceOf(PrefixNotEmptyError); // TKV callers' idempotency check keeps working
    expect(String(err)).toContain('database 5');
    expect(await r[5].dbsize()).toBe(3);
    const s = await v.readSetting();
    expect(s).toMatchObject({ bucket: '/var/jfs/', name: 'vol-test', trashDays: 1, metaVersion: 1, capacity: 0n, inodes: 0n });
  });

  it('formats a v0.17 volume: setting and root only, plaintext secret; limits from the spec', async () => {
    const v = new RedisVolume(r[6]);
    await v.format({ name: 'vol-old', storage: 'file', bucket: '/b/', secretKey: 'plain', version: '0.17', capacity: 1n << 40n, inodes: 1000n });
    expect((await dump(r[6])).map(([k]) => Buffer.from(k, 'hex').toString())).toEqual(['i1', 'setting']);
    const json = JSON.parse(await v.readSettingText());
    expect(json.SecretKey).toBe('plain');
    expect(json.Partitions).toBe(0);
    expect(json.TrashDays).toBeUndefined();
    expect(await v.readSetting()).toMatchObject({ capacity: 1n << 40n, inodes: 1000n });
    // A v1.1 volume without trash writes no trash root either.
    const v2 = new RedisVolume(r[8]);
    await v2.format({ name: 'vol-notrash', storage: 'file', bucket: '/b/', trashDays: 0 });
    expect(await r[8].dbsize()).toBe(2);
  });

  it('refuses to format a database holding any key, and writes nothing', async () => {
    await r[7].set('somebody-else', 'x');
    const v = new RedisVolume(r[7]);
    await expect(v.format({ name: 'vol-x', storage: 'file', bucket: '/b/' })).rejects.toBeInstanceOf(DatabaseNotEmptyError);
    expect(await r[7].dbsize()).toBe(1);
    await expect(v.readSetting()).rejects.toThrow(/not a formatted volume/);
  });

  it('uses the {db} hash tag on a cluster: every key tagged, only its own tag blocks a format', async () => {
    const k7 = RedisKeys.cluster(7);
    expect(k7.setting().toString()).toBe('{7}setting');
    expect(k7.attr(TRASH_INODE).toString()).toBe('{7}i9223372032828243968');
    expect(k7.counter('nextInode').toString()).toBe('{7}nextinode');
    expect(k7.counter('nextTrash').toString()).toBe('{7}nextTrash');
    expect(k7.chunk(6n, 1).toString()).toBe('{7}c6_1');
    expect(k7.pattern('d')).toBe('{7}d[0-9]*');
    await r[7].set('{70}setting', 'another volume'); // {70} is not {7}
    const v = new RedisVolume(r[7], k7);
    await v.format({ name: 'vol-tag', storage: 'file', bucket: '/b/' });
    const fx = new RedisFixtureBuilder(r[7], k7);
    const d = await fx.mkdir(ROOT_INODE, 'd');
    await fx.file(d, 'f', 5000);
    await fx.finish();
    const tagged = (await dump(r[7])).map(([k]) => Buffer.from(k, 'hex').toString()).filter((k) => k !== '{70}setting');
    expect(tagged.length).toBeGreaterThan(5);
    for (const k of tagged) expect(k.startsWith('{7}')).toBe(true);
    expect(await v.readCounters()).toEqual({ usedSpace: 4096n + 8192n, totalInodes: 2n });
    const w = await walkRedisVolume(r[7], { keys: k7 });
    expect(w.tree).toMatchObject({ bytes: 12288n, inodes: 2n, logicalBytes: 5000n });
    expect(counterMismatch(w, await v.readCounters())).toBeNull();
    await expect(new RedisVolume(r[7], k7).format({ name: 'vol-tag', storage: 'file', bucket: '/b/' })).rejects.toBeInstanceOf(PrefixNotEmptyError);
    await expect(new RedisVolume(r[7], RedisKeys.cluster(70)).format({ name: 'vol-70', storage: 'file', bucket: '/b/' })).rejects.toThrow(/\{70\}setting/);
  });

  it('reads counters of one volume and of many (one pipeline per client, tags of one node included)', async () => {
    const a = new RedisVolume(r[5]);
    const b = new RedisVolume(r[6]);
    await a.format({ name: 'vol-a', storage: 'file', bucket: '/a/' });
    await b.format({ name: 'vol-ab', storage: 'file', bucket: '/ab/' });
    const fa = new RedisFixtureBuilder(r[5]);
    await fa.file(ROOT_INODE, 'only-in-a', 1);
    await fa.finish();
    const fb = new RedisFixtureBuilder(r[6]);
    for (let i = 0; i < 5; i++) await fb.file(ROOT_INODE, `f${i}`, 8192);
    await fb.finish();
    expect(await r[5].get('usedSpace')).toBe('4096'); // decimal, as INCRBY leaves it
    expect(await r[6].get('nextinode')).toBe('6'); // last inode handed out (TKV would say 7)
    const t1 = new RedisVolume(r[9], RedisKeys.cluster(1));
    const t2 = new RedisVolume(r[9], RedisKeys.cluster(2));
    await r[9].mset('{1}usedSpace', '123', '{1}totalInodes', '4', '{2}usedSpace', '-8192');
    const pipelines = vi.spyOn(r[9], 'pipeline');
    const [ca, cb, c1, c2] = await RedisVolume.readCountersMany([a, b, t1, t2]);
    expect(pipelines).toHaveBeenCalledTimes(1);
    expect(ca).toEqual({ usedSpace: 4096n, totalInodes: 1n });
    expect(cb).toEqual({ usedSpace: 5n * 8192n, totalInodes: 5n });
    expect(c1).toEqual({ usedSpace: 123n, totalInodes: 4n });
    expect(c2).toEqual({ usedSpace: -8192n, totalInodes: 0n });
    expect(await a.readCounters()).toEqual(ca);
    await r[5].set('totalInodes', 'lots');
    await expect(a.readCounters()).rejects.toBeInstanceOf(CorruptMetadataError);
  });

  it('freezes and unfreezes by Capacity/Inodes, every other byte of setting kept (unknown fields, order), idempotently', async () => {
    const v = new RedisVolume(r[5]);
    await v.format({ name: 'vol-frz', storage: 's3', bucket: 'http://s3/b', accessKey: 'AK', secretKey: 'SK' });
    // A newer JuiceFS's fields, an integer above 2^53 and odd spacing must all survive.
    const original = (await v.readSettingText()).replace('"TrashDays": 1', '"Tiers": {"0": {"ID": 0, "StorageClass": ""}},\n"Huge":  18446744073709551615,\n"TrashDays": 1');
    await r[5].set('setting', original);
    expect((await v.setLimits({ capacity: 1n, inodes: 5n })).changed).toBe(true);
    const frozen = await v.readSettingText();
    expect(getInteger(frozen, 'Capacity')).toBe(1n);
    expect(getInteger(frozen, 'Inodes')).toBe(5n);
    expect(frozen.replace('"Capacity": 1', '"Capacity": 0').replace('"Inodes": 5', '"Inodes": 0')).toBe(original);
    expect(Object.keys(JSON.parse(frozen))).toEqual(Object.keys(JSON.parse(original)));
    const again = await v.setLimits({ capacity: 1n, inodes: 5n });
    expect(again.changed).toBe(false);
    expect(again.before).toMatchObject({ capacity: 1n, inodes: 5n });
    await v.setLimits({ capacity: 0n, inodes: 0n });
    expect(await v.readSettingText()).toBe(original); // "Capacity": 0 written explicitly, as format did
  });

  it('keeps a concurrent setting change made between WATCH and EXEC, by retrying', async () => {
    const v = new RedisVolume(r[5]);
    await v.format({ name: 'vol-cas', storage: 'file', bucket: '/b/' });
    const other = redisClient(5); // someone else: `juicefs config --upload-limit 100`
    const attempts: number[] = [];
    try {
      const res = await v.setLimits(
        { capacity: 4096n, inodes: 0n },
        {
          beforeCommit: async (attempt) => {
            attempts.push(attempt);
            if (attempt === 0) {
              const s = (await other.get('setting'))!;
              await other.set('setting', s.replace('"TrashDays": 1', '"UploadLimit": 100,\n"TrashDays": 1'));
            }
          },
        },
      );
      expect(res.changed).toBe(true);
    } finally {
      await other.quit();
    }
    expect(attempts).toEqual([0, 1]); // first EXEC aborted by WATCH, second committed
    const s = JSON.parse(await v.readSettingText());
    expect(s.UploadLimit).toBe(100);
    expect(s.Capacity).toBe(4096);
    expect(s.Inodes).toBe(0);
  });

  it('refuses to freeze a corrupt or missing setting, naming the key, and never writes', async () => {
    const v = new RedisVolume(r[6]);
    await expect(v.setLimits({ capacity: 1n, inodes: 1n })).rejects.toThrow(hexKey(Buffer.from('setting')));
    await r[6].set('setting', '{"Name": "vol-bad", "UUID": ');
    const err = await v.setLimits({ capacity: 1n, inodes: 1n }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptMetadataError);
    expect(await r[6].get('setting')).toBe('{"Name": "vol-bad", "UUID": ');
  });

  it('walks a fixture tree: per-directory figures, hard links once, trash apart, raw names kept, no KEYS', async () => {
    const redis = r[5];
    const v = new RedisVolume(redis);
    await v.format({ name: 'vol-walk', storage: 'file', bucket: '/b/' });
    const t = await buildTree(redis);
    const counters = await v.readCounters();
    expect(counters).toEqual({ usedSpace: t.counters.usedSpace, totalInodes: t.counters.totalInodes });

    // What the fixture wrote is the JuiceFS layout: hard link in p<ino>, chunks as 24-byte slice lists.
    expect(await redis.hgetall(`p${t.ids.h}`)).toEqual({ [String(t.ids.a)]: '2', [String(t.ids.c)]: '1' });
    expect((await redis.getBuffer(`i${t.ids.h}`))!.readBigUInt64BE(63)).toBe(0n);
    const chunks = [await redis.lrangeBuffer(`c${t.ids.big}_0`, 0, -1), await redis.lrangeBuffer(`c${t.ids.big}_1`, 0, -1)];
    expect(chunks.map((c) => c.map((x) => decodeSlices(x, 'c')[0]!.len))).toEqual([[64 * 1024 * 1024], [104_857_636 - 64 * 1024 * 1024]]);
    expect(chunks.flat().every((x) => x.length === 24)).toBe(true);
    expect((await redis.getBuffer(`s${t.ids.s}`))!.toString()).toBe('a/f1');
    expect(await redis.get('nextTrash')).toBe('1');
    expect(await redis.hgetallBuffer(`d${t.ids.b}`)).toHaveProperty(['empty']);
    const gbkField = (await redis.hscanBuffer(`d${t.ids.b}`, 0))[1].find((x, i) => i % 2 === 0 && x.equals(t.gbk));
    expect(gbkField).toBeDefined(); // the raw GBK bytes are the hash field, not a UTF-8 mangling

    // Observe every command the walk sends (pipelined ones included) and the client calls it makes.
    const mon = await r[9].monitor();
    const seen: string[] = [];
    mon.on('monitor', (_time: string, args: string[], _src: string, db: string) => {
      if (String(db) === '5') seen.push(String(args[0]).toLowerCase());
    });
    const keysSpy = vi.spyOn(redis, 'keys');
    const keysBufSpy = vi.spyOn(redis, 'keysBuffer');
    const pipelines = vi.spyOn(redis, 'pipeline');
    const progress: number[] = [];
    let throttled = 0;
    const w = await walkRedisVolume(redis, {
      scanCount: 5,
      dirBatch: 2,
      onProgress: (n) => progress.push(n),
      throttle: async (n) => {
        throttled += n;
      },
    });
    await redis.echo('walk-done');
    await vi.waitFor(() => expect(seen).toContain('echo'));
    await mon.disconnect();
    expect(keysSpy).not.toHaveBeenCalled();
    expect(keysBufSpy).not.toHaveBeenCalled();
    expect(seen).not.toContain('keys');
    expect(seen).not.toContain('get'); // attrs come by MGET, never one GET per inode
    expect(seen).toContain('scan');
    expect(seen).toContain('hscan');
    expect(seen).toContain('mget');
    expect(pipelines.mock.calls.length).toBeLessThan(20);

    expect(w.tree).toMatchObject({ bytes: t.tree.bytes, inodes: t.tree.inodes });
    expect(w.trash).toMatchObject({ bytes: t.trash.bytes, inodes: t.trash.inodes });
    expect(w.tree.bytes + w.trash.bytes).toBe(counters.usedSpace);
    expect(w.tree.inodes + w.trash.inodes).toBe(counters.totalInodes);
    expect(counterMismatch(w, counters)).toBeNull();
    expect(w.detached).toEqual({ bytes: 0n, inodes: 0n });
    const byIno = new Map(w.directories.map((d) => [d.inode, d]));
    expect(byIno.get(t.ids.a)).toMatchObject({ path: '/a', depth: 1, bytes: t.aDir.bytes, inodes: t.aDir.inodes, inTrash: false, parent: ROOT_INODE });
    // f1, f2, b, h (h3 is h again); files/dirs are recursive: + `empty` and the GBK file, + g.
    expect(byIno.get(t.ids.a)).toMatchObject({ directInodes: 4n, directBytes: 4096n * 3n + align4K(5000n), directLogicalBytes: 10n + 5000n + 100n, files: 3n + 2n, dirs: 2n });
    expect(byIno.get(t.ids.b)).toMatchObject({ path: '/a/b', depth: 2, bytes: t.bDir.bytes, directInodes: 2n });
    expect(byIno.get(t.ids.c)).toMatchObject({ bytes: t.cDir.bytes, inodes: t.cDir.inodes });
    expect(byIno.get(t.ids.d1)).toMatchObject({ logicalBytes: 104_857_636n, bytes: align4K(104_857_636n), directInodes: 1n });
    const g = byIno.get(t.ids.g)!;
    expect(Buffer.from(g.pathBase64, 'base64').equals(Buffer.concat([Buffer.from('/a/b/'), t.gbk]))).toBe(true);
    expect(g.path).toContain('\uFFFD');
    expect(g).toMatchObject({ depth: 3, bytes: 4096n, logicalBytes: 4096n, inodes: 1n });
    // Directories without hard links agree with the dir-stat hashes the fixture wrote.
    for (const ino of [t.ids.b, t.ids.g, t.ids.d1]) {
      expect(BigInt((await redis.hget('dirUsedSpace', String(ino)))!)).toBe(byIno.get(ino)!.directBytes);
      expect(BigInt((await redis.hget('dirUsedInodes', String(ino)))!)).toBe(byIno.get(ino)!.directInodes);
      expect(BigInt((await redis.hget('dirDataLength', String(ino)))!)).toBe(byIno.get(ino)!.directLogicalBytes);
    }
    expect(byIno.get(t.ids.hour)).toMatchObject({ path: '/.trash/2021-12-02-09', inTrash: true, depth: 2, bytes: t.trash.bytes - 4096n });
    expect(byIno.get(TRASH_INODE)).toMatchObject({ path: '/.trash', inTrash: true, depth: 1, bytes: t.trash.bytes });
    expect(byIno.get(ROOT_INODE)).toMatchObject({ path: '/', depth: 0, bytes: t.tree.bytes });
    expect(w.directories.map((d) => d.inode)).toHaveLength(8); // /, a, b, g, c, d1, .trash, hour
    expect(w.keysRead).toBeGreaterThan(20);
    expect(progress.length).toBeGreaterThan(3);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    expect(throttled).toBe(w.keysRead);
  });

  it('walks big directories over several HSCAN pages and SCAN pages exactly once', async () => {
    const redis = r[6];
    const v = new RedisVolume(redis);
    await v.format({ name: 'vol-big', storage: 'file', bucket: '/b/' });
    const fx = new RedisFixtureBuilder(redis, new RedisKeys(), { batchOps: 500 });
    const big = await fx.mkdir(ROOT_INODE, 'big');
    // More entries than hash-max-listpack-entries (128 by default, 512 here): a real hash table,
    // listed page by page, where Redis may repeat entries.
    for (let i = 0; i < 700; i++) await fx.file(big, `f${i}`, i);
    const sub: bigint[] = [];
    for (let i = 0; i < 40; i++) sub.push(await fx.mkdir(ROOT_INODE, `d${i}`));
    for (const d of sub) await fx.file(d, 'x', 1);
    const h = await fx.file(big, 'linked', 10_000, { linkable: true });
    for (let i = 0; i < 3; i++) await fx.link(h, sub[7]!, `l${i}`);
    const counters = await fx.finish();
    expect(await redis.object('ENCODING', 'd' + big)).toBe('hashtable');
    const w = await walkRedisVolume(redis, { scanCount: 50, dirBatch: 8 });
    expect(counterMismatch(w, counters)).toBeNull();
    const byIno = new Map(w.directories.map((d) => [d.inode, d]));
    let want = 0n;
    for (let i = 0; i < 700; i++) want += align4K(BigInt(i));
    expect(byIno.get(big)).toMatchObject({ directInodes: 701n, directBytes: want + align4K(10_000n) });
    // `linked` counts in every directory holding a link (once, however many links it holds there).
    expect(byIno.get(sub[7]!)).toMatchObject({ directInodes: 2n, bytes: 4096n + align4K(10_000n) });
    expect(w.directories).toHaveLength(1 + 1 + 40 + 1);
  });

  it('reports sustained inodes (unlinked while open) as detached, so counters still agree', async () => {
    const redis = r[8];
    const v = new RedisVolume(redis);
    await v.format({ name: 'vol-open', storage: 'file', bucket: '/b/' });
    const fx = new RedisFixtureBuilder(redis);
    await fx.file(ROOT_INODE, 'kept', 1);
    const gone = await fx.file(ROOT_INODE, 'gone', 9000);
    await fx.finish();
    // What JuiceFS does on unlink of an open file: the dentry goes, the inode stays in session<sid>.
    await redis.hdel('d1', 'gone');
    await redis.zadd('allSessions', 2_000_000_000, '3');
    await redis.sadd('session3', String(gone));
    const w = await walkRedisVolume(redis);
    expect(w.tree).toMatchObject({ bytes: 4096n, inodes: 1n });
    expect(w.detached).toEqual({ bytes: align4K(9000n), inodes: 1n });
    expect(counterMismatch(w, await v.readCounters())).toBeNull();
  });

  it('reports a short attr as corrupt naming its key, counter drift as a mismatch, and honours abort', async () => {
    const redis = r[9];
    const v = new RedisVolume(redis);
    await v.format({ name: 'vol-short', storage: 'file', bucket: '/b/' });
    const fx = new RedisFixtureBuilder(redis);
    const x = await fx.file(ROOT_INODE, 'x', 1);
    await fx.finish();
    await redis.set('usedSpace', '1');
    const w = await walkRedisVolume(redis);
    expect(w.tree.bytes).toBe(4096n);
    expect(counterMismatch(w, await v.readCounters())).toEqual({ bytesDelta: 4095n, inodesDelta: 0n });
    const ac = new AbortController();
    ac.abort();
    await expect(walkRedisVolume(redis, { signal: ac.signal })).rejects.toThrow(/abort/i);
    await redis.set(`i${x}`, Buffer.alloc(20));
    await expect(walkRedisVolume(redis)).rejects.toThrow(hexKey(Buffer.from(`i${x}`)));
  });

  it('enriches the walk exactly as the TKV walk does (ages, sizes, types, series, largest files, hard links)', async () => {
    const now = Math.floor(NOW.getTime() / 1000);
    const v = new RedisVolume(r[9]);
    await v.format({ name: 'vol-prof', storage: 'file', bucket: '/b/' });
    await buildDemoTree(new RedisFixtureBuilder(r[9], new RedisKeys(), { batchOps: 50 }));
    const onRedis = await walkRedisVolume(r[9], { scanCount: 7, dirBatch: 3, now, topFiles: 5 });
    const engine = new MemoryEngine();
    const tv = new TkvVolume(engine, Buffer.from('prof'));
    await tv.format({ name: 'vol-prof', storage: 'file', bucket: '/b/' });
    await buildDemoTree(new FixtureBuilder(engine, tv.keys));
    const onTkv = await walkVolume(engine, tv.keys, { now, topFiles: 5 });
    const profiles = (w: typeof onTkv) => new Map(w.directories.map((d) => [d.path, d.profile]));
    expect(profiles(onRedis)).toEqual(profiles(onTkv));
    expect(profiles(onRedis).get('/shared/b')!.ageBytes[3]).toBe(400 * 1024 * 1024);
    // Same five sizes; equal sizes may come in either order.
    expect(onRedis.profile!.largestFiles.map((f) => f.bytes)).toEqual(onTkv.profile!.largestFiles.map((f) => f.bytes));
    expect(onRedis.profile!.largestFiles[0]).toEqual(onTkv.profile!.largestFiles[0]);
  });

  it('round-trips the 16-byte Redis dir quota value', () => {
    const b = encodeQuotaLimits({ maxSpace: 1n << 30n, maxInodes: 100n });
    expect(b.toString('hex')).toBe('0000000040000000' + '0000000000000064');
    expect(decodeQuotaLimits(b, 'q')).toEqual({ maxSpace: 1n << 30n, maxInodes: 100n });
    expect(() => decodeQuotaLimits(Buffer.alloc(32), 'q')).toThrow(CorruptMetadataError);
  });
});
