/**
 * Format parity with the real `juicefs format`: Headroom formats a volume through its API, the
 * real binary formats a twin (same name, storage, bucket, block size, compression, trash days,
 * capacity and inodes) under another prefix (etcd) or database (Redis), and every key the two
 * wrote must match: the setting member by member and in order (UUIDs aside; secrets decrypt to
 * the same keys), the root and trash attrs up to timestamps, and the counters. Then the real
 * tools accept Headroom's volume: `status`, `fsck`, and a FUSE mount that takes writes.
 *
 * Reference binary: JuiceFS 1.4 (the newest Headroom writes for). JuiceFS 1.3 is compared too,
 * minus the members its Format struct does not have (1.4's `Tiers`), and must mount the volume.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { request } from '../support/api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAttr } from '../../server/meta/tkv/records.js';
import { RedisVolume } from '../../server/meta/redis/redis-volume.js';
import { decryptSecret } from '../../server/meta/tkv/secrets.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { JuiceFsCli, mount, unmountAll } from '../support/real/juicefs.js';
import { realAvailable, redisDump, startStack, tkvDump, type RealEngine, type RealStack } from '../support/real/stack.js';
import { startWeed, type TestWeed, weedEnv } from '../support/real/weed.js';

const GiB = 1n << 30n;
const CAPACITY = 3n * GiB + 12_345n; // not a whole GiB: the byte value must survive both writers
const INODES = 123_456n;

/** Members of JuiceFS's Format that a version does not know (it neither writes nor reads them). */
const UNKNOWN_TO: Record<string, string[]> = { 'juicefs-1.3': ['Tiers'], 'juicefs-1.4': [] };

/** Attr without its timestamps: format stamps "now", which differs between the two writers. */
function untimed(v: Buffer | undefined) {
  if (!v) return undefined;
  const { atime: _a, atimensec: _an, mtime: _m, mtimensec: _mn, ctime: _c, ctimensec: _cn, ...rest } = decodeAttr(v, 'attr');
  return { ...rest, bytes: v.length };
}

/** The setting's members in order, UUID and encrypted secrets blanked (they are random per format). */
function members(json: string, drop: string[] = []): Array<[string, unknown]> {
  return Object.entries(JSON.parse(json) as Record<string, unknown>)
    .filter(([k]) => !drop.includes(k))
    .map(([k, v]) => [k, ['UUID', 'SecretKey', 'SessionToken', 'EncryptKey'].includes(k) ? '<random>' : v]);
}

const engines = (['etcd', 'redis'] as const).map((engine) => ({ engine, available: realAvailable(engine, 'juicefs-1.4', 'juicefs-1.3') }));

describe.each(engines)('format parity with juicefs on $engine', ({ engine, available }: { engine: RealEngine; available: boolean }) => {
  if (!available) return void it.skip('needs PostgreSQL, the engine server and the juicefs binaries');
  let s: RealStack;
  const jfs = { 'juicefs-1.4': JuiceFsCli.of('juicefs-1.4'), 'juicefs-1.3': JuiceFsCli.of('juicefs-1.3') };
  let vol: { id: string; metaUrl: string; prefix: string; state: string };

  /** Every key of a volume, by the key's bytes after the volume prefix (TKV) or in its database (Redis). */
  const dump = (metaUrl: string) => (engine === 'etcd' ? tkvDump(s.etcd!, metaUrl) : redisDump(s.redis!(Number(new URL(metaUrl).pathname.slice(1)))));
  const settingKey = 'setting';
  const rootKey = engine === 'etcd' ? `A${Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]).toString('latin1')}I` : 'i1';
  const trashKey = engine === 'etcd' ? `A${Buffer.from('00000010ffffff7f', 'hex').toString('latin1')}I` : 'i9223372032828243968';

  beforeAll(async () => {
    s = await startStack(engine);
    vol = await s.createVolume('parity', { quota: { hardBytes: Number(CAPACITY), hardInodes: Number(INODES) } });
    expect(vol.state).toBe('active');
  });
  afterAll(async () => {
    await unmountAll();
    await s?.stop();
  });

  it.each(['juicefs-1.4', 'juicefs-1.3'] as const)('writes the keys %s format writes, byte for byte up to UUID and timestamps', async (tool) => {
    const twin = s.foreignMetaUrl(tool === 'juicefs-1.4' ? 1 : 2);
    // Headroom's own format defaults: file storage in OBJECTS_DIR, 4 MiB blocks, no compression, 1 trash day.
    await jfs[tool].format(twin, vol.prefix, { storage: 'file', bucket: s.bucket, blockSize: 4096, compress: 'none', trashDays: 1, capacity: CAPACITY, inodes: INODES });
    const ours = await dump(vol.metaUrl);
    const theirs = await dump(twin);
    expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
    const drop = UNKNOWN_TO[tool]!;
    expect(members(ours.get(settingKey)!.toString('utf8'), drop)).toEqual(members(theirs.get(settingKey)!.toString('utf8')));
    expect(untimed(ours.get(rootKey))).toEqual(untimed(theirs.get(rootKey)));
    expect(untimed(ours.get(trashKey))).toEqual(untimed(theirs.get(trashKey)));
    expect(untimed(ours.get(rootKey))).toMatchObject({ type: 2, mode: 0o777, nlink: 2, length: 4096n, parent: 1n, bytes: 72 });
    for (const [k, v] of theirs) {
      if (![settingKey, rootKey, trashKey].includes(k)) expect({ k, v: ours.get(k)?.toString('hex') }).toEqual({ k, v: v.toString('hex') }); // counters
    }
  });

  it('encrypts secrets as juicefs does: both decrypt to the same keys with their own UUID', async () => {
    // Headroom's file-storage volumes carry no keys, so the secret path is checked on the format
    // code directly, on a third prefix/database, against the binary with the same keys.
    const mine = s.foreignMetaUrl(3);
    const twin = s.foreignMetaUrl(4);
    const spec = { name: 'secret-fs', storage: 'file', bucket: s.bucket, accessKey: 'AKIA-real-test', secretKey: 's3cr3t/with+base64=chars' };
    if (engine === 'etcd') await new TkvVolume(s.etcd!, Buffer.from(new URL(mine.replace(/^etcd:/, 'http:')).pathname)).format(spec);
    else await new RedisVolume(s.redis!(Number(new URL(mine).pathname.slice(1)))).format(spec);
    await jfs['juicefs-1.4'].format(twin, spec.name, { storage: 'file', bucket: s.bucket, accessKey: spec.accessKey, secretKey: spec.secretKey });
    const aText = (await dump(mine)).get(settingKey)!.toString('utf8');
    const bText = (await dump(twin)).get(settingKey)!.toString('utf8');
    // Without limits JuiceFS omits Capacity/Inodes; Headroom writes 0 on purpose (see setting.ts).
    expect(members(aText, ['Capacity', 'Inodes'])).toEqual(members(bText));
    const a = JSON.parse(aText);
    const b = JSON.parse(bText);
    expect(a.SecretKey).not.toBe(spec.secretKey);
    expect(decryptSecret(a.UUID, a.SecretKey)).toBe(spec.secretKey);
    expect(decryptSecret(b.UUID, b.SecretKey)).toBe(spec.secretKey);
    expect([a.AccessKey, a.KeyEncrypted]).toEqual([b.AccessKey, b.KeyEncrypted]);
  });

  it('passes juicefs status and fsck, and mounts and takes writes (1.4 and 1.3)', async () => {
    const st = await jfs['juicefs-1.4'].status(vol.metaUrl);
    expect(st.Setting).toMatchObject({ Name: vol.prefix, Capacity: Number(CAPACITY), Inodes: Number(INODES), TrashDays: 1 });
    const fsck = await jfs['juicefs-1.4'].fsck(vol.metaUrl);
    expect(fsck.code, fsck.stderr.slice(-2000)).toBe(0);
    for (const tool of ['juicefs-1.4', 'juicefs-1.3'] as const) {
      const m = await mount(jfs[tool], vol.metaUrl);
      try {
        const file = path.join(m.path, `hello-${tool}.txt`);
        await writeFile(file, `written through ${tool}\n`);
        expect(await readFile(file, 'utf8')).toBe(`written through ${tool}\n`);
      } finally {
        await m.stop();
      }
    }
    console.log(`[real] ${engine}: FUSE mounts of Headroom's volume with juicefs 1.4 and 1.3 took writes`);
    const after = await jfs['juicefs-1.4'].fsck(vol.metaUrl);
    expect(after.code, after.stderr.slice(-2000)).toBe(0);
    const used = (await jfs['juicefs-1.4'].status(vol.metaUrl)).Stat;
    expect(used).toMatchObject({ UsedInodes: 2, UsedSpace: 8192 });
  });
});

/**
 * The secrets path for real: with SeaweedFS configured, Headroom gives the volume its own bucket
 * and a tenant key, and formats `s3` storage with the secret encrypted. The binary formats a twin
 * with the key Headroom handed out; both settings match and decrypt to that key, and the real
 * client mounts Headroom's volume, writes its objects into SeaweedFS with it, and fsck finds them.
 * Storage does not depend on the metadata engine: etcd only, to keep the suite lean.
 */
describe.skipIf(!realAvailable('etcd', 'juicefs-1.4', 'weed'))('format parity with s3 storage on SeaweedFS (etcd)', () => {
  let weed: TestWeed;
  let s: RealStack;
  const jfs = () => JuiceFsCli.of('juicefs-1.4');
  beforeAll(async () => {
    weed = await startWeed();
    s = await startStack('etcd', weedEnv(weed));
  });
  afterAll(async () => {
    await unmountAll();
    await s?.stop();
    await weed?.stop();
  });

  it('encrypts the tenant key as juicefs does, and the real client stores its objects with it', async () => {
    const res = await request(s.app.http)
      .post('/v1/tenants/acme/volumes')
      .set('authorization', s.admin)
      .send({ name: 'ckpt', quota: { hardBytes: Number(CAPACITY), hardInodes: Number(INODES) } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.state).toBe('active');
    const keys = res.body.credentials as { accessKey: string; secretKey: string };
    expect(keys?.secretKey).toBeTruthy();
    const ours = (await tkvDump(s.etcd!, res.body.metaUrl)).get('setting')!.toString('utf8');
    const mine = JSON.parse(ours) as Record<string, string>;
    expect(mine).toMatchObject({ Storage: 's3', AccessKey: keys.accessKey, KeyEncrypted: true });
    const twin = s.foreignMetaUrl(9);
    await jfs().format(twin, res.body.prefix, {
      storage: 's3',
      bucket: mine.Bucket,
      accessKey: keys.accessKey,
      secretKey: keys.secretKey,
      blockSize: 4096,
      compress: 'none',
      trashDays: 1,
      capacity: CAPACITY,
      inodes: INODES,
    });
    const theirs = (await tkvDump(s.etcd!, twin)).get('setting')!.toString('utf8');
    expect(members(ours)).toEqual(members(theirs));
    expect(decryptSecret(mine.UUID!, mine.SecretKey!)).toBe(keys.secretKey);
    const t = JSON.parse(theirs) as Record<string, string>;
    expect(decryptSecret(t.UUID!, t.SecretKey!)).toBe(keys.secretKey);

    const m = await mount(jfs(), res.body.metaUrl);
    try {
      // The S3 gateway may take a moment to accept an identity created through IAM.
      const file = path.join(m.path, 'model.bin');
      const data = Buffer.alloc(3 * 1024 * 1024 + 17, 42);
      let err: unknown;
      for (let i = 0; i < 20; i++) {
        try {
          await writeFile(file, data);
          err = undefined;
          break;
        } catch (e) {
          err = e;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      expect(err).toBeUndefined();
      expect((await readFile(file)).equals(data)).toBe(true);
    } finally {
      await m.stop();
    }
    const fsck = await jfs().fsck(res.body.metaUrl);
    expect(fsck.code, fsck.stderr.slice(-2000)).toBe(0);
    console.log(`[real] s3: Headroom's volume on SeaweedFS bucket ${mine.Bucket} mounted (FUSE) and stored its objects with the tenant key`);
  });
});
