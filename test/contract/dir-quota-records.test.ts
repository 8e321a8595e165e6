/**
 * JuiceFS directory quota records, the same assertions on both layouts: TKV (on the in-memory
 * engine, the code every TKV engine runs) and Redis (a real redis-server of the suite's own, both
 * standalone and with a cluster `{db}` tag). The bytes are checked raw, as JuiceFS reads them;
 * parity with the real `juicefs quota` is test/real/directory-quotas.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../server/engines/memory/memory-engine.js';
import { RedisFixtureBuilder } from '../../server/meta/redis/fixture.js';
import { RedisKeys } from '../../server/meta/redis/keys.js';
import { RedisDirQuotas } from '../../server/meta/redis/quota-records.js';
import { decodeQuotaLimits, encodeQuotaLimits } from '../../server/meta/redis/records.js';
import { RedisVolume } from '../../server/meta/redis/redis-volume.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { TkvDirQuotas } from '../../server/meta/tkv/quota-records.js';
import { decodeDirQuota, decodeDirStat, encodeDirQuota, encodeDirStat } from '../../server/meta/tkv/records.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import type { TreeFixture } from '../../server/meta/tree-fixture.js';
import { NativeQuotaUnsupportedError, dirQuotaKey, type DirQuotaMetadata, type VolumeRef } from '../../server/meta/volume-metadata.js';
import { redisServerAvailable, startRedisServer, type TestRedisServer } from '../support/redis.js';

/** Raw access to one layout's quota and dir-stat values, for tampering and reading back. */
interface Raw {
  get(ino: bigint): Promise<{ maxSpace: bigint; maxInodes: bigint; usedSpace: bigint; usedInodes: bigint } | undefined>;
  put(ino: bigint, q: { maxSpace: bigint; maxInodes: bigint; usedSpace: bigint; usedInodes: bigint }): Promise<void>;
  corrupt(ino: bigint): Promise<void>;
  dirStat(ino: bigint): Promise<{ length: bigint; space: bigint; inodes: bigint } | undefined>;
  putDirStat(ino: bigint, s: { length: bigint; space: bigint; inodes: bigint } | null): Promise<void>;
}

/** One formatted volume of a layout. */
interface Subject {
  ref: VolumeRef;
  quotas: DirQuotaMetadata;
  fixture: TreeFixture<unknown>;
  raw: Raw;
}

const gbk = Buffer.from([0xd6, 0xd0, 0xce, 0xc4]);

function suite(name: string, make: (slot: number, version?: '0.17') => Promise<Subject>): void {
  describe(`directory quota records: ${name}`, () => {
    let s: Subject;
    const ino: Record<string, bigint> = {};
    beforeAll(async () => {
      s = await make(1);
      const fx = s.fixture;
      const team = await fx.mkdir(ROOT_INODE, 'team');
      ino.team = team;
      ino.alice = await fx.mkdir(team, 'alice');
      ino.gbk = await fx.mkdir(team, gbk);
      ino.deep = await fx.mkdir(ino.alice, 'deep');
      const f = await fx.file(ino.alice, 'a1', 100_000, { linkable: true });
      await fx.link(f, ino.deep, 'hard'); // counted once per link, as JuiceFS counts quotas
      await fx.file(ino.deep, 'a2', 0);
      await fx.symlink(ino.gbk, 'ln', 'x'.repeat(10));
      await fx.file(team, 'readme', 10);
      await fx.finish();
    });

    it('resolves directories through the dentries, and paths back from inodes', async () => {
      expect(await s.quotas.resolveDirectory(s.ref, Buffer.from('/team//alice/'))).toBe(ino.alice);
      expect(await s.quotas.resolveDirectory(s.ref, Buffer.from('/'))).toBe(ROOT_INODE);
      expect(await s.quotas.resolveDirectory(s.ref, Buffer.concat([Buffer.from('/team/'), gbk]))).toBe(ino.gbk);
      for (const p of ['/team/readme', '/team/nobody', '/team/./alice', '/team/alice/..']) expect(await s.quotas.resolveDirectory(s.ref, Buffer.from(p)), p).toBeUndefined();
      expect((await s.quotas.directoryPath(s.ref, ino.deep!))?.toString()).toBe('/team/alice/deep');
      expect((await s.quotas.directoryPath(s.ref, ino.gbk!))?.equals(Buffer.concat([Buffer.from('/team/'), gbk]))).toBe(true);
      expect((await s.quotas.directoryPath(s.ref, ROOT_INODE))?.toString()).toBe('/');
      expect(await s.quotas.directoryPath(s.ref, 999_999n)).toBeUndefined();
    });

    it('creates a record with −1 for limits not given and the subtree usage, filling in missing dir stats only', async () => {
      await s.raw.putDirStat(ino.deep!, null); // missing: quota set's summary writes it
      const stale = { length: 1n, space: 2n, inodes: 3n };
      await s.raw.putDirStat(ino.alice!, stale); // a client's figures: never overwritten
      const r = await s.quotas.setDirQuota(s.ref, ino.alice!, { maxSpace: 1n << 20n, maxInodes: null });
      // a1 (102,400) + deep (4096) + deep/hard (102,400 again) + deep/a2 (empty: 4096).
      const want = { inode: ino.alice, maxSpace: 1n << 20n, maxInodes: -1n, usedSpace: 102400n + 4096n + 102400n + 4096n, usedInodes: 4n };
      expect(r).toEqual({ created: true, record: want });
      expect(await s.raw.get(ino.alice!)).toEqual({ maxSpace: 1n << 20n, maxInodes: -1n, usedSpace: want.usedSpace, usedInodes: 4n });
      expect(await s.raw.dirStat(ino.deep!)).toEqual({ length: 100_000n, space: 102400n + 4096n, inodes: 2n });
      expect(await s.raw.dirStat(ino.alice!)).toEqual(stale);
      expect(await s.quotas.subtreeUsage(s.ref, ino.alice!)).toEqual({ space: want.usedSpace, inodes: 4n });
    });

    it('changes limits keeping the usage clients keep, and writes nothing when nothing changes', async () => {
      const kept = { maxSpace: 1n << 20n, maxInodes: -1n, usedSpace: 777n, usedInodes: 7n };
      await s.raw.put(ino.alice!, kept);
      const r = await s.quotas.setDirQuota(s.ref, ino.alice!, { maxSpace: null, maxInodes: 50n });
      expect(r).toEqual({ created: false, record: { inode: ino.alice, ...kept, maxInodes: 50n } });
      expect(await s.quotas.setDirQuota(s.ref, ino.alice!, { maxSpace: 1n << 20n, maxInodes: 50n })).toMatchObject({ created: false, record: { usedSpace: 777n } });
      expect(await s.raw.get(ino.alice!)).toEqual({ ...kept, maxInodes: 50n });
    });

    it('reads records in batches, lists them, repairs and deletes them', async () => {
      await s.quotas.setDirQuota(s.ref, ino.gbk!, { maxSpace: null, maxInodes: null });
      expect(await s.raw.get(ino.gbk!)).toEqual({ maxSpace: -1n, maxInodes: -1n, usedSpace: 4096n, usedInodes: 1n });
      const other = { ...s.ref, id: 'vol_other' };
      const got = await s.quotas.readDirQuotasMany([
        { volume: s.ref, inode: ino.alice! },
        { volume: s.ref, inode: ino.team! },
        { volume: other, inode: ino.gbk! },
      ]);
      expect(got.get(dirQuotaKey(s.ref.id, ino.alice!))).toMatchObject({ maxInodes: 50n, usedSpace: 777n });
      expect(got.get(dirQuotaKey(s.ref.id, ino.team!))).toBeNull();
      expect(got.get(dirQuotaKey('vol_other', ino.gbk!))).toMatchObject({ usedInodes: 1n });
      expect((await s.quotas.listDirQuotas(s.ref)).map((q) => q.inode).sort()).toEqual([ino.alice, ino.gbk].sort());
      const real = await s.quotas.subtreeUsage(s.ref, ino.alice!);
      expect(await s.quotas.repairDirQuota(s.ref, ino.alice!, real)).toEqual({ repaired: true });
      expect(await s.raw.get(ino.alice!)).toMatchObject({ usedSpace: real.space, usedInodes: real.inodes, maxInodes: 50n });
      expect(await s.quotas.deleteDirQuota(s.ref, ino.gbk!)).toEqual({ deleted: true });
      expect(await s.raw.get(ino.gbk!)).toBeUndefined();
      expect(await s.quotas.deleteDirQuota(s.ref, ino.gbk!)).toEqual({ deleted: false });
      expect(await s.quotas.repairDirQuota(s.ref, ino.gbk!, real)).toEqual({ repaired: false });
      expect(await s.raw.get(ino.gbk!)).toBeUndefined(); // a repair never revives a deleted record
    });

    it('reports a corrupt record as an error of that record only', async () => {
      await s.raw.corrupt(ino.deep!);
      const got = await s.quotas.readDirQuotasMany([
        { volume: s.ref, inode: ino.deep! },
        { volume: s.ref, inode: ino.alice! },
      ]);
      expect(got.get(dirQuotaKey(s.ref.id, ino.deep!))).toBeInstanceOf(Error);
      expect(got.get(dirQuotaKey(s.ref.id, ino.alice!))).toMatchObject({ maxInodes: 50n });
    });

    it('refuses native quotas on a v0.17 volume, with the reason', async () => {
      const old = await make(2, '0.17');
      expect(await old.quotas.quotaCapabilities(old.ref)).toMatchObject({ dirQuotas: false, userGroupQuotas: false, dirReason: expect.stringContaining('v0.17') });
      await expect(old.quotas.setDirQuota(old.ref, ROOT_INODE, { maxSpace: 1n, maxInodes: null })).rejects.toBeInstanceOf(NativeQuotaUnsupportedError);
      expect(await old.raw.get(ROOT_INODE)).toBeUndefined();
      expect(await s.quotas.quotaCapabilities(s.ref)).toMatchObject({ dirQuotas: true, dirReason: null });
    });
  });
}

const spec = (name: string, version?: '0.17') => ({ name, storage: 'file', bucket: '/tmp/x/', version });
const ref = (id: string, metaUrl: string): VolumeRef => ({ id, metaUrl, prefix: id, quota: { hardBytes: null, hardInodes: null } });

suite('TKV (memory engine)', async (slot, version) => {
  const engine = new MemoryEngine();
  const tv = new TkvVolume(engine, Buffer.from(`vol${slot}`));
  await tv.format(spec(`vol-${slot}`, version));
  const k = tv.keys;
  return {
    ref: ref(`vol_${slot}`, `mem://vol${slot}`),
    quotas: new TkvDirQuotas(() => tv),
    fixture: new FixtureBuilder(engine, k, { dirStats: version !== '0.17' }) as TreeFixture<unknown>,
    raw: {
      get: async (ino) => {
        const v = await engine.get(k.dirQuota(ino));
        return v ? decodeDirQuota(v, 'x') : undefined;
      },
      put: (ino, q) => engine.txn(async (t) => t.put(k.dirQuota(ino), encodeDirQuota(q))),
      corrupt: (ino) => engine.txn(async (t) => t.put(k.dirQuota(ino), Buffer.alloc(31))),
      dirStat: async (ino) => {
        const v = await engine.get(k.dirStat(ino));
        return v ? decodeDirStat(v, 'x') : undefined;
      },
      putDirStat: (ino, st) => engine.txn(async (t) => (st ? t.put(k.dirStat(ino), encodeDirStat(st)) : t.delete(k.dirStat(ino)))),
    },
  };
});

let server: TestRedisServer | undefined;
const withRedis = redisServerAvailable();
if (withRedis) {
  beforeAll(async () => {
    server = await startRedisServer(16);
  });
  afterAll(async () => server?.stop());
  for (const tagged of [false, true]) {
    suite(`Redis${tagged ? ' cluster tag {db}' : ''}`, async (slot, version) => {
      const db = slot + (tagged ? 4 : 0);
      const r = server!.client(db);
      const k = tagged ? RedisKeys.cluster(db) : new RedisKeys();
      const rv = new RedisVolume(r, k);
      await r.flushdb();
      await rv.format(spec(`vol-${db}`, version));
      const f = (ino: bigint) => RedisKeys.inoField(ino);
      return {
        ref: ref(`vol_${db}`, `redis://127.0.0.1:${server!.port}/${db}`),
        quotas: new RedisDirQuotas(() => rv),
        fixture: new RedisFixtureBuilder(r, k, { dirStats: version !== '0.17' }) as TreeFixture<unknown>,
        raw: {
          get: async (ino) => {
            const l = await r.hgetBuffer(k.dirQuota(), f(ino));
            if (!l) return undefined;
            const [u, n] = await Promise.all([r.hget(k.dirQuotaUsedSpace(), f(ino).toString()), r.hget(k.dirQuotaUsedInodes(), f(ino).toString())]);
            return { ...decodeQuotaLimits(l, 'x'), usedSpace: BigInt(u!), usedInodes: BigInt(n!) };
          },
          put: async (ino, q) => {
            await r.hset(k.dirQuota(), f(ino), encodeQuotaLimits(q));
            await r.hset(k.dirQuotaUsedSpace(), f(ino), q.usedSpace.toString());
            await r.hset(k.dirQuotaUsedInodes(), f(ino), q.usedInodes.toString());
          },
          corrupt: async (ino) => void (await r.hset(k.dirQuota(), f(ino), Buffer.alloc(15))),
          dirStat: async (ino) => {
            const [l, sp, n] = await Promise.all([r.hget(k.dirDataLength(), f(ino).toString()), r.hget(k.dirUsedSpace(), f(ino).toString()), r.hget(k.dirUsedInodes(), f(ino).toString())]);
            return l === null ? undefined : { length: BigInt(l), space: BigInt(sp!), inodes: BigInt(n!) };
          },
          putDirStat: async (ino, st) => {
            if (!st) return void (await Promise.all([r.hdel(k.dirDataLength(), f(ino)), r.hdel(k.dirUsedSpace(), f(ino)), r.hdel(k.dirUsedInodes(), f(ino))]));
            await r.hset(k.dirDataLength(), f(ino), st.length.toString());
            await r.hset(k.dirUsedSpace(), f(ino), st.space.toString());
            await r.hset(k.dirUsedInodes(), f(ino), st.inodes.toString());
          },
        },
      };
    });
  }
}
