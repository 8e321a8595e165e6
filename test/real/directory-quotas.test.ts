/**
 * Directory quotas against the real `juicefs` 1.4.1 on etcd (TKV layout) and Redis: a record
 * Headroom writes is byte-for-byte the record `juicefs quota set` writes for the same directory
 * (limits and the usage computed at creation); `juicefs quota get/list/check` show Headroom's
 * quotas; quotas set by hand are read by Headroom with their paths; a real FUSE mount refuses the
 * write that would exceed Headroom's hard limit with EDQUOT; delete is `juicefs quota delete`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineRegistry } from '../../server/meta/engine-registry.js';
import { JuiceFsMetadata } from '../../server/meta/juicefs-metadata.js';
import { DirQuotaRouter } from '../../server/meta/dir-quota-router.js';
import { RedisMetadata } from '../../server/meta/redis/redis-metadata.js';
import type { VolumeRef } from '../../server/meta/volume-metadata.js';
import { request } from '../support/api.js';
import { JuiceFsCli, fuseUsable, mount, unmountAll, type TestMount } from '../support/real/juicefs.js';
import { realAvailable, startStack, type RealEngine, type RealStack } from '../support/real/stack.js';

const GiB = 1n << 30n;
const MiB = 1n << 20n;
const engines = (['etcd', 'redis'] as const).map((engine) => ({ engine, available: realAvailable(engine, 'juicefs-1.4') }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(engines)('directory quotas with the real juicefs on $engine', ({ engine, available }: { engine: RealEngine; available: boolean }) => {
  if (!available) return void it.skip('needs PostgreSQL, the engine server and juicefs 1.4');
  const jfs = () => JuiceFsCli.of('juicefs-1.4');
  let s: RealStack;
  let ref: VolumeRef;
  let m: TestMount | undefined;
  let quotas: DirQuotaRouter;
  let close: () => Promise<void>;
  const root = () => m!.path;

  beforeAll(async () => {
    s = await startStack(engine);
    const v = await s.createVolume('team');
    ref = { id: v.id, metaUrl: v.metaUrl, prefix: v.prefix, quota: { hardBytes: null, hardInodes: null } };
    const defaults = { objectsDir: s.dir, trashDays: 1, version: '1.1' as const };
    const tkv = new JuiceFsMetadata(new EngineRegistry(), defaults);
    const redis = new RedisMetadata(defaults, undefined);
    quotas = new DirQuotaRouter(tkv.quotas, redis.quotas, 5000);
    close = async () => redis.close();
    m = await mount(jfs(), v.metaUrl);
    for (const d of ['team/alice/deep', 'team/bob/x', 'team/carol', 'team/dave']) mkdirSync(path.join(root(), d), { recursive: true });
    writeFileSync(path.join(root(), 'team/alice/a1'), Buffer.alloc(100_000, 1));
    writeFileSync(path.join(root(), 'team/alice/deep/a2'), Buffer.alloc(5000, 2));
    writeFileSync(path.join(root(), 'team/bob/b1'), Buffer.alloc(70_000, 3));
    writeFileSync(path.join(root(), 'team/bob/x/b2'), Buffer.alloc(1, 4));
    spawnSync('sync', ['-f', root()]);
    await sleep(2500); // dir stats are flushed every second
  }, 120_000);
  afterAll(async () => {
    await m?.stop();
    await unmountAll();
    await close?.();
    await s?.stop();
  });

  const inodeOf = async (p: string) => (await quotas.resolveDirectory(ref, Buffer.from(p)))!;
  const record = async (p: string) => (await quotas.readDirQuotasMany([{ volume: ref, inode: await inodeOf(p) }])).values().next().value;

  it('writes the record juicefs quota set writes, usage included', async () => {
    await jfs().ok(['quota', 'set', ref.metaUrl, '--path', '/team/bob', '--capacity', '1']);
    const theirs = await record('/team/bob');
    // b1 (70,000 B → 73,728), x (4096), x/b2 (1 B → 4096).
    expect(theirs).toMatchObject({ maxSpace: GiB, maxInodes: -1n, usedSpace: 73728n + 4096n + 4096n, usedInodes: 3n });
    await jfs().ok(['quota', 'delete', ref.metaUrl, '--path', '/team/bob']);
    expect(await record('/team/bob')).toBeNull();
    const ours = await quotas.setDirQuota(ref, await inodeOf('/team/bob'), { maxSpace: GiB, maxInodes: null });
    expect(ours.created).toBe(true);
    expect(ours.record).toEqual(theirs);
    expect(await record('/team/bob')).toEqual(theirs);
  });

  it("shows Headroom's quota in juicefs quota get, list and check", async () => {
    const ino = await inodeOf('/team/alice');
    const r = await quotas.setDirQuota(ref, ino, { maxSpace: 1n * MiB, maxInodes: 100n });
    // a1 (100,000 B → 102,400), deep (4096), a2 (5000 → 8192): the directory itself excluded.
    expect(r.record).toMatchObject({ maxSpace: MiB, maxInodes: 100n, usedSpace: 102400n + 4096n + 8192n, usedInodes: 3n });
    const get = await jfs().ok(['quota', 'get', ref.metaUrl, '--path', '/team/alice']);
    const out = get.stdout + get.stderr;
    expect(out).toContain('/team/alice');
    expect(out).toMatch(/1\.0 MiB/);
    const list = await jfs().ok(['quota', 'list', ref.metaUrl]);
    expect(list.stdout + list.stderr).toContain('/team/alice');
    const check = await jfs().run(['quota', 'check', ref.metaUrl, '--path', '/team/alice', '--strict']);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout + check.stderr).not.toMatch(/broken|inconsistent/i);
    // Headroom's own check agrees with the record juicefs just checked.
    expect(await quotas.subtreeUsage(ref, ino)).toEqual({ space: r.record.usedSpace, inodes: r.record.usedInodes });
  });

  it('reads quotas set by hand, with their paths', async () => {
    await jfs().ok(['quota', 'set', ref.metaUrl, '--path', '/team/carol', '--capacity', '2', '--inodes', '50']);
    const carol = await inodeOf('/team/carol');
    const all = await quotas.listDirQuotas(ref);
    expect(all.find((q) => q.inode === carol)).toEqual({ inode: carol, maxSpace: 2n * GiB, maxInodes: 50n, usedSpace: 0n, usedInodes: 0n });
    expect((await quotas.directoryPath(ref, carol))?.toString()).toBe('/team/carol');
  });

  it('is enforced by a real mount: the write past the hard limit fails with EDQUOT', async () => {
    if (!fuseUsable()) return;
    await sleep(2500); // the mount reloads quotas every heartbeat (1 s here)
    const dd = spawnSync('dd', ['if=/dev/zero', `of=${path.join(root(), 'team/alice/big')}`, 'bs=1M', 'count=4', 'conv=fsync'], { encoding: 'utf8' });
    expect(dd.status).not.toBe(0);
    expect(dd.stderr).toMatch(/quota exceeded/i);
    // Outside the quota the same write works.
    const ok = spawnSync('dd', ['if=/dev/zero', `of=${path.join(root(), 'team/dave/big')}`, 'bs=1M', 'count=4', 'conv=fsync'], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
  });

  it('through the API: juicefs lists what Headroom sets, and Headroom discovers what juicefs sets', async () => {
    const base = `/v1/volumes/${ref.id}/directory-quotas`;
    const set = await request(s.app.http)
      .post(base)
      .set('authorization', s.admin)
      .send({ path: '/team/dave', softBytes: 1 << 20, hardBytes: 2 << 20, ownerSub: 'dave' });
    expect(set.status, JSON.stringify(set.body)).toBe(201);
    expect(set.body).toMatchObject({ native: true, usage: { usedBytes: 4 << 20, usedInodes: 1 }, juicefs: { appliedGeneration: 1, maxBytes: 2 << 20 } });
    const get = await jfs().ok(['quota', 'get', ref.metaUrl, '--path', '/team/dave']);
    expect(get.stdout + get.stderr).toMatch(/2\.0 MiB/);
    mkdirSync(path.join(root(), 'team/erin'));
    await jfs().ok(['quota', 'set', ref.metaUrl, '--path', '/team/erin', '--inodes', '7']);
    const found = await request(s.app.http).post(`${base}/discover`).set('authorization', s.admin);
    expect(found.status).toBe(200);
    const byPath = Object.fromEntries(found.body.items.map((q: { path: string }) => [q.path, q]));
    expect(byPath['/team/erin']).toMatchObject({ managed: false, quota: { hardInodes: 7, hardBytes: null }, juicefs: { maxInodes: 7, maxBytes: -1 } });
    // The ones set by hand earlier (bob by Headroom's meta layer, carol by juicefs) are found too.
    expect(Object.keys(byPath).sort()).toEqual(['/team/alice', '/team/bob', '/team/carol', '/team/erin']);
    const clobber = await request(s.app.http).post(base).set('authorization', s.admin).send({ path: '/team/erin', hardBytes: 1 });
    expect(clobber.status).toBe(409);
    expect(await record('/team/erin')).toMatchObject({ maxSpace: -1n, maxInodes: 7n });
  });

  it('an admin freeze through the API stops growth on a real mount, and an unfreeze lets it go on', async () => {
    if (!fuseUsable()) return;
    mkdirSync(path.join(root(), 'team/frank'));
    writeFileSync(path.join(root(), 'team/frank/f'), Buffer.alloc(10_000, 5));
    spawnSync('sync', ['-f', root()]);
    await sleep(1500);
    const base = `/v1/volumes/${ref.id}/directory-quotas`;
    const q = await request(s.app.http)
      .post(base)
      .set('authorization', s.admin)
      .send({ path: '/team/frank', softBytes: 1 << 30 });
    expect(q.status, JSON.stringify(q.body)).toBe(201);
    const frozen = await request(s.app.http).post(`${base}/${q.body.id}/freeze`).set('authorization', s.admin).send({ reason: 'real freeze' });
    expect(frozen.body.enforcement.state).toBe('frozen');
    expect(await record('/team/frank')).toMatchObject({ maxSpace: 12288n, maxInodes: 1n });
    await sleep(2500);
    const dd = spawnSync('dd', ['if=/dev/zero', `of=${path.join(root(), 'team/frank/more')}`, 'bs=64k', 'count=4', 'conv=fsync'], { encoding: 'utf8' });
    expect(dd.stderr).toMatch(/quota exceeded/i);
    await request(s.app.http).post(`${base}/${q.body.id}/unfreeze`).set('authorization', s.admin).send({ reason: 'done' });
    await sleep(2500);
    const ok = spawnSync('dd', ['if=/dev/zero', `of=${path.join(root(), 'team/frank/more2')}`, 'bs=64k', 'count=4', 'conv=fsync'], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
  });

  it('user and group quotas: refused until the format has them, then listed by juicefs as it lists its own', async () => {
    const groups = `/v1/volumes/${ref.id}/group-quotas`;
    expect(
      (
        await request(s.app.http)
          .post(groups)
          .set('authorization', s.admin)
          .send({ gid: 0, hardBytes: 1 << 30 })
      ).body.code,
    ).toBe('native_quota_unsupported');
    await jfs().ok(['quota', 'set', ref.metaUrl, '--uid', '4242', '--capacity', '3']); // turns UserGroupQuota on, scans usage
    const made = await request(s.app.http)
      .post(groups)
      .set('authorization', s.admin)
      .send({ gid: 0, hardBytes: 5 * 2 ** 30 });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    // JuiceFS's scan counted root's files for gid 0 already; Headroom keeps that usage.
    expect(made.body.usage.usedBytes).toBeGreaterThan(4 << 20);
    const list = await jfs().ok(['quota', 'list', ref.metaUrl]);
    const out = list.stdout + list.stderr;
    expect(out).toMatch(/gid:0\s*\|\s*5\.0 GiB/);
    expect(out).toMatch(/uid:4242\s*\|\s*3\.0 GiB/);
    const del = await request(s.app.http).delete(`${groups}/${made.body.id}`).set('authorization', s.admin);
    expect(del.body.state).toBe('deleted');
    expect((await jfs().ok(['quota', 'list', ref.metaUrl])).stdout).not.toMatch(/gid:0\s*\|\s*5\.0 GiB/);
  });

  it('deletes as juicefs quota delete does', async () => {
    const ino = await inodeOf('/team/carol');
    expect(await quotas.deleteDirQuota(ref, ino)).toEqual({ deleted: true });
    const list = await jfs().ok(['quota', 'list', ref.metaUrl]);
    expect(list.stdout + list.stderr).not.toContain('/team/carol');
    expect((await quotas.listDirQuotas(ref)).some((q) => q.inode === ino)).toBe(false);
    expect(await quotas.deleteDirQuota(ref, ino)).toEqual({ deleted: false });
  });
});

describe('directory quotas with the real juicefs 1.3 on etcd', () => {
  if (!realAvailable('etcd', 'juicefs-1.3')) return void it.skip('needs PostgreSQL, etcd and juicefs 1.3');
  const jfs = () => JuiceFsCli.of('juicefs-1.3');
  let s: RealStack;
  let id: string;
  let meta: string;
  beforeAll(async () => {
    s = await startStack('etcd');
    const v = await s.createVolume('team13');
    id = v.id;
    meta = v.metaUrl;
    const m = await mount(jfs(), meta);
    try {
      mkdirSync(path.join(m.path, 'p/one'), { recursive: true });
      mkdirSync(path.join(m.path, 'p/two'), { recursive: true });
      writeFileSync(path.join(m.path, 'p/one/f'), Buffer.alloc(9000, 1));
      spawnSync('sync', ['-f', m.path]);
      await sleep(1500);
    } finally {
      await m.stop();
    }
  }, 120_000);
  afterAll(async () => {
    await unmountAll();
    await s?.stop();
  });

  it("shows Headroom's quota in 1.3's quota get and check, and reads 1.3's records (0 = unlimited)", async () => {
    const base = `/v1/volumes/${id}/directory-quotas`;
    const set = await request(s.app.http).post(base).set('authorization', s.admin).send({ path: '/p/one', hardInodes: 5 });
    expect(set.status, JSON.stringify(set.body)).toBe(201);
    expect(set.body.usage).toEqual({ usedBytes: 12288, usedInodes: 1, source: 'juicefs' });
    const get = await jfs().ok(['quota', 'get', meta, '--path', '/p/one']);
    expect(get.stdout + get.stderr).toContain('/p/one');
    const check = await jfs().run(['quota', 'check', meta, '--path', '/p/one', '--strict']);
    expect(check.code, check.stderr).toBe(0);
    // 1.3 creates a new record with 0, not −1, for the limit it is not given.
    await jfs().ok(['quota', 'set', meta, '--path', '/p/two', '--capacity', '1']);
    const found = await request(s.app.http).post(`${base}/discover`).set('authorization', s.admin);
    expect(found.body.items).toEqual([
      expect.objectContaining({ path: '/p/two', managed: false, quota: expect.objectContaining({ hardBytes: 2 ** 30, hardInodes: null }), juicefs: expect.objectContaining({ maxInodes: 0 }) }),
    ]);
  });
});
