/**
 * JuiceFS 1.4 user and group quota records on both layouts: TKV (in-memory engine) and Redis (a
 * redis-server of the suite's own), read back raw as JuiceFS reads them (`QU uid:BE8` / `QG gid:BE8`
 * on TKV; the `userQuota*`/`groupQuota*` hashes on Redis, names checked against `juicefs quota set
 * --uid`). Refused, with the reason, on a format without UserGroupQuota.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../server/engines/memory/memory-engine.js';
import { RedisUserGroupQuotas } from '../../server/meta/redis/ug-quota-records.js';
import { decodeQuotaLimits } from '../../server/meta/redis/records.js';
import { RedisVolume } from '../../server/meta/redis/redis-volume.js';
import { TkvUserGroupQuotas } from '../../server/meta/tkv/ug-quota-records.js';
import { decodeDirQuota, encodeDirQuota } from '../../server/meta/tkv/records.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { NativeQuotaUnsupportedError, userGroupQuotaKey, type UserGroupKind, type UserGroupQuotaMetadata, type VolumeRef } from '../../server/meta/volume-metadata.js';
import { redisServerAvailable, startRedisServer, type TestRedisServer } from '../support/redis.js';

type Rec = { maxSpace: bigint; maxInodes: bigint; usedSpace: bigint; usedInodes: bigint };
interface Subject {
  ref: VolumeRef;
  ug: UserGroupQuotaMetadata;
  raw(kind: UserGroupKind, id: bigint): Promise<Rec | undefined>;
  /** What clients would have counted for an owner. */
  use(kind: UserGroupKind, id: bigint, usedSpace: bigint): Promise<void>;
}
const spec = { name: 'ugvol', storage: 'file', bucket: '/b/' };
/** Turns UserGroupQuota on, as `juicefs quota set --uid` does on first use. */
const enable = (text: string) => text.replace('"DirStats": true', '"DirStats": true,\n"UserGroupQuota": true');

function suite(name: string, make: (enabled: boolean) => Promise<Subject>): void {
  describe(`user/group quota records: ${name}`, () => {
    let s: Subject;
    beforeAll(async () => {
      s = await make(true);
    });

    it('creates records with −1 for limits not given, then changes limits keeping the usage', async () => {
      expect(await s.ug.setUserGroupQuota(s.ref, 'user', 1000n, { maxSpace: 1n << 30n, maxInodes: null })).toEqual({
        created: true,
        record: { inode: 1000n, maxSpace: 1n << 30n, maxInodes: -1n, usedSpace: 0n, usedInodes: 0n },
      });
      await s.use('user', 1000n, 4096n);
      expect(await s.ug.setUserGroupQuota(s.ref, 'user', 1000n, { maxSpace: null, maxInodes: 10n })).toMatchObject({
        created: false,
        record: { maxSpace: 1n << 30n, maxInodes: 10n, usedSpace: 4096n },
      });
      await s.ug.setUserGroupQuota(s.ref, 'group', 1000n, { maxSpace: 5n, maxInodes: null });
      expect(await s.raw('user', 1000n)).toEqual({ maxSpace: 1n << 30n, maxInodes: 10n, usedSpace: 4096n, usedInodes: 1n });
      expect(await s.raw('group', 1000n)).toMatchObject({ maxSpace: 5n, maxInodes: -1n });
    });

    it('lists and reads in batches, and deletes as juicefs does: limits lifted, usage kept', async () => {
      await s.ug.setUserGroupQuota(s.ref, 'user', 2n ** 32n - 2n, { maxSpace: 7n, maxInodes: 7n });
      expect((await s.ug.listUserGroupQuotas(s.ref, 'user')).map((q) => q.inode)).toEqual([1000n, 2n ** 32n - 2n]);
      expect((await s.ug.listUserGroupQuotas(s.ref, 'group')).map((q) => q.inode)).toEqual([1000n]);
      const got = await s.ug.readUserGroupQuotasMany([
        { volume: s.ref, kind: 'user', id: 1000n },
        { volume: s.ref, kind: 'group', id: 1n },
      ]);
      expect(got.get(userGroupQuotaKey(s.ref.id, 'user', 1000n))).toMatchObject({ maxInodes: 10n });
      expect(got.get(userGroupQuotaKey(s.ref.id, 'group', 1n))).toBeNull();
      expect(await s.ug.deleteUserGroupQuota(s.ref, 'user', 1000n)).toEqual({ deleted: true });
      expect(await s.raw('user', 1000n)).toEqual({ maxSpace: -1n, maxInodes: -1n, usedSpace: 4096n, usedInodes: 1n });
      expect(await s.ug.deleteUserGroupQuota(s.ref, 'group', 1n)).toEqual({ deleted: false });
      expect(await s.raw('group', 1n)).toBeUndefined();
    });

    it('refuses on a format without UserGroupQuota, with the reason', async () => {
      const off = await make(false);
      await expect(off.ug.setUserGroupQuota(off.ref, 'user', 1n, { maxSpace: 1n, maxInodes: null })).rejects.toBeInstanceOf(NativeQuotaUnsupportedError);
      await expect(off.ug.setUserGroupQuota(off.ref, 'user', 1n, { maxSpace: 1n, maxInodes: null })).rejects.toThrow(/UserGroupQuota/);
      expect(await off.raw('user', 1n)).toBeUndefined();
    });
  });
}

suite('TKV (memory engine)', async (enabled) => {
  const engine = new MemoryEngine();
  const tv = new TkvVolume(engine, Buffer.from('ug'));
  const { setting } = await tv.format(spec);
  if (enabled) await engine.txn(async (t) => t.put(tv.keys.setting(), Buffer.from(enable(setting))));
  const key = (kind: UserGroupKind, id: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(id); // big-endian, unlike a directory quota's inode
    return Buffer.concat([tv.keys.p, Buffer.from(kind === 'user' ? 'QU' : 'QG'), b]);
  };
  const raw = async (kind: UserGroupKind, id: bigint) => {
    const v = await engine.get(key(kind, id));
    return v ? decodeDirQuota(v, 'x') : undefined;
  };
  return {
    ref: { id: 'vol_ug', metaUrl: 'mem://ug', prefix: 'ug', quota: { hardBytes: null, hardInodes: null } },
    ug: new TkvUserGroupQuotas(() => tv),
    raw,
    use: async (kind, id, usedSpace) => {
      const r = (await raw(kind, id))!;
      await engine.txn(async (t) => t.put(key(kind, id), encodeDirQuota({ ...r, usedSpace, usedInodes: 1n })));
    },
  };
});

let server: TestRedisServer | undefined;
if (redisServerAvailable()) {
  beforeAll(async () => {
    server = await startRedisServer(4);
  });
  afterAll(async () => server?.stop());
  let db = 0;
  suite('Redis', async (enabled) => {
    const r: Redis = server!.client(++db);
    const rv = new RedisVolume(r);
    await r.flushdb();
    const { setting } = await rv.format(spec);
    if (enabled) await r.set(rv.keys.setting(), enable(setting));
    const raw = async (kind: UserGroupKind, id: bigint) => {
      const l = await r.hgetBuffer(`${kind}Quota`, id.toString());
      if (!l) return undefined;
      const [u, n] = await Promise.all([r.hget(`${kind}QuotaUsedSpace`, id.toString()), r.hget(`${kind}QuotaUsedInodes`, id.toString())]);
      return { ...decodeQuotaLimits(l, 'x'), usedSpace: BigInt(u!), usedInodes: BigInt(n!) };
    };
    return {
      ref: { id: `vol_ug${db}`, metaUrl: `redis://127.0.0.1:${server!.port}/${db}`, prefix: 'ug', quota: { hardBytes: null, hardInodes: null } },
      ug: new RedisUserGroupQuotas(() => rv),
      raw,
      use: async (kind, id, usedSpace) => {
        await r.hset(`${kind}QuotaUsedSpace`, id.toString(), usedSpace.toString());
        await r.hset(`${kind}QuotaUsedInodes`, id.toString(), '1');
      },
    };
  });
}
