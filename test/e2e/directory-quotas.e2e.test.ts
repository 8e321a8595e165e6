/**
 * Directory quotas over the API on real PostgreSQL and the local engine: the JuiceFS record each
 * call leaves in the volume's keys (read back raw), the audit rows, visibility, refusals that
 * write nothing, discovery of quotas set outside Headroom, `quota check` parity and repair, and
 * volumes without native quotas. The knex store's contract suite runs here too.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnexDirectoryQuotaStore } from '../../server/directory-quotas/knex-directory-quota-store.js';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { decodeDirQuota, encodeDirQuota } from '../../server/meta/tkv/records.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { insertVolume } from '../../server/volumes/volume-store.js';
import { directoryQuotaStoreContract } from '../contract/directory-quota-store.contract.js';
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { runJob } from '../support/jobs.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const MiB = 1 << 20;

describe.skipIf(!pgAvailable())('directory quotas over the API', () => {
  let t: TestApp;
  let admin: string;
  let platform: string;
  let store: LocalEngine; // a second connection to the app's local store, as a JuiceFS client would have
  let vol: { id: string; prefix: string };
  let tv: TkvVolume;
  const ino: Record<string, bigint> = {};
  const gbk = Buffer.from([0xd6, 0xd0, 0xce, 0xc4]); // not UTF-8

  beforeAll(async () => {
    t = await createTestApp();
    admin = `Bearer ${t.token('admin', 'root')}`;
    platform = `Bearer ${t.token('platform', 'ci')}`;
    await buildTenant(t.http, admin, { id: 'acme' });
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
    vol = (await buildVolume(t.http, admin, 'acme', { name: 'team' })) as unknown as { id: string; prefix: string };
    tv = new TkvVolume(store, Buffer.from(vol.prefix));
    const fx = new FixtureBuilder(store, tv.keys);
    const team = await fx.mkdir(ROOT_INODE, 'team');
    ino.alice = await fx.mkdir(team, 'alice');
    ino.bob = await fx.mkdir(team, 'bob');
    ino.gbk = await fx.mkdir(team, gbk);
    ino.deep = await fx.mkdir(ino.alice, 'deep');
    await fx.file(ino.alice, 'a1', 100_000); // 102,400 counted
    await fx.file(ino.deep, 'a2', 5000); // 8192
    await fx.file(ino.bob, 'b1', 1);
    await fx.file(team, 'readme', 10);
    await fx.finish();
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
  });

  const api = () => request(t.http);
  const base = () => `/v1/volumes/${vol.id}/directory-quotas`;
  const raw = async (inode: bigint) => {
    const v = await store.get(tv.keys.dirQuota(inode));
    return v ? decodeDirQuota(v, 'x') : undefined;
  };
  // Directory quotas' rows are their own entity (the quota's id), in the volume's tenant.
  const audits = async () =>
    (await t.database.db('audit_events').where({ entity_type: 'directory_quota', tenant_id: 'acme' }).whereLike('action', 'directory_quota.%').orderBy('id').select('action')).map(
      (r: { action: string }) => r.action,
    );
  const rows = async () => Number((await t.database.db('directory_quotas').count({ n: '*' }))[0]!.n);

  it('writes the JuiceFS record with the usage of the subtree at creation', async () => {
    const res = await api()
      .post(base())
      .set('authorization', platform)
      .send({ path: '/team/alice', softBytes: MiB / 2, hardBytes: MiB, hardInodes: 100, graceSeconds: 600, ownerSub: 'alice' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ path: '/team/alice', inode: Number(ino.alice), managed: true, native: true, state: 'active', ownerSub: 'alice' });
    expect(res.body.quota).toEqual({ softBytes: MiB / 2, hardBytes: MiB, softInodes: null, hardInodes: 100, graceSeconds: 600 });
    // a1 (102,400) + deep (4096) + a2 (8192); three entries; the directory itself excluded.
    expect(res.body.usage).toEqual({ usedBytes: 114688, usedInodes: 3, source: 'juicefs' });
    expect(res.body.juicefs).toMatchObject({ generation: 1, appliedGeneration: 1, maxBytes: MiB, maxInodes: 100, recordPresent: true, lastError: null });
    expect(await raw(ino.alice!)).toEqual({ maxSpace: BigInt(MiB), maxInodes: 100n, usedSpace: 114688n, usedInodes: 3n });
    expect(await audits()).toEqual(['directory_quota.created']);
  });

  it('refuses a second quota, a missing or non-directory path, and junk, writing nothing', async () => {
    const before = await rows();
    const twice = await api().post(base()).set('authorization', admin).send({ path: '/team/alice/', hardBytes: MiB });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('directory_quota_exists');
    for (const p of ['/team/nobody', '/team/readme', '/team/../team/alice']) {
      const r = await api().post(base()).set('authorization', admin).send({ path: p });
      expect(r.status, p).toBe(422);
      expect(r.body.code).toBe('directory_not_found');
    }
    const both = await api().post(base()).set('authorization', admin).send({ path: '/team/bob', pathBase64: 'L3RlYW0vYm9i' });
    expect(both.status).toBe(400);
    const below = await api().post(base()).set('authorization', admin).send({ path: '/team/bob', softBytes: 10, hardBytes: 5 });
    expect(below.status).toBe(400);
    const engineer = await api()
      .post(base())
      .set('authorization', `Bearer ${t.token('engineer', 'alice', ['acme'])}`)
      .send({ path: '/team/bob' });
    expect(engineer.status).toBe(403);
    expect(await rows()).toBe(before);
    expect(await raw(ino.bob!)).toBeUndefined();
    expect(await audits()).toEqual(['directory_quota.created']);
  });

  it('takes any JuiceFS name as base64 bytes', async () => {
    const p = Buffer.concat([Buffer.from('/team/'), gbk]);
    const res = await api()
      .post(base())
      .set('authorization', admin)
      .send({ pathBase64: p.toString('base64'), softBytes: 1000 });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(Buffer.from(res.body.pathBase64, 'base64').equals(p)).toBe(true);
    // No hard limit: the record is written unlimited (−1), so JuiceFS keeps counting its usage.
    expect(await raw(ino.gbk!)).toEqual({ maxSpace: -1n, maxInodes: -1n, usedSpace: 0n, usedInodes: 0n });
  });

  it('shows engineers only the quotas they own, with usage read in one batch', async () => {
    const alice = `Bearer ${t.token('engineer', 'alice', ['acme'])}`;
    const mine = await api().get(base()).set('authorization', alice);
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((q: { path: string }) => q.path)).toEqual(['/team/alice']);
    expect(mine.body.items[0].usage.usedBytes).toBe(114688);
    const all = await api().get(`${base()}?limit=1`).set('authorization', admin);
    expect(all.body.items).toHaveLength(1);
    expect(all.body.nextCursor).toBeTruthy();
    const rest = await api().get(`${base()}?cursor=${all.body.nextCursor}`).set('authorization', admin);
    expect(rest.body.items).toHaveLength(1);
    const other = await api()
      .get(base())
      .set('authorization', `Bearer ${t.token('engineer', 'mallory', ['other'])}`);
    expect(other.status).toBe(404);
  });

  it('changes limits keeping the usage JuiceFS clients keep, then checks and repairs as quota check does', async () => {
    const q = (await api().get(base()).set('authorization', admin)).body.items.find((x: { path: string }) => x.path === '/team/alice');
    // A client's usage, out of step with the tree (as after a crash): Headroom must keep it.
    await store.txn(async (x) => x.put(tv.keys.dirQuota(ino.alice!), encodeDirQuota({ maxSpace: BigInt(MiB), maxInodes: 100n, usedSpace: 5000n, usedInodes: 1n })));
    const res = await api()
      .patch(`${base()}/${q.id}`)
      .set('authorization', platform)
      .send({ hardBytes: 2 * MiB, hardInodes: null });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.juicefs).toMatchObject({ generation: 2, appliedGeneration: 2, maxBytes: 2 * MiB, maxInodes: -1 });
    expect(await raw(ino.alice!)).toEqual({ maxSpace: BigInt(2 * MiB), maxInodes: -1n, usedSpace: 5000n, usedInodes: 1n });

    const check = await api().post(`${base()}/${q.id}/check`).set('authorization', platform).send({});
    expect(check.status).toBe(200);
    expect(check.body).toEqual({
      quotaId: q.id,
      recordPresent: true,
      recorded: { usedBytes: 5000, usedInodes: 1 },
      actual: { usedBytes: 114688, usedInodes: 3 },
      drift: { bytes: 109688, inodes: 2 },
      consistent: false,
      repaired: false,
    });
    expect((await api().post(`${base()}/${q.id}/check`).set('authorization', platform).send({ repair: true })).status).toBe(403);
    const fixed = await api().post(`${base()}/${q.id}/check`).set('authorization', admin).send({ repair: true });
    expect(fixed.body).toMatchObject({ repaired: true });
    expect(await raw(ino.alice!)).toEqual({ maxSpace: BigInt(2 * MiB), maxInodes: -1n, usedSpace: 114688n, usedInodes: 3n });
    expect((await api().post(`${base()}/${q.id}/check`).set('authorization', admin).send({})).body.consistent).toBe(true);
    expect(await audits()).toEqual(['directory_quota.created', 'directory_quota.created', 'directory_quota.updated', 'directory_quota.repaired']);
    // One filter finds the quota's history, and the tenant's log includes it.
    const history = await api().get(`/v1/audit?entityType=directory_quota&entityId=${q.id}&tenantId=acme`).set('authorization', admin);
    expect(history.status).toBe(200);
    expect(history.body.items.map((e: { action: string; entityId: string }) => [e.action, e.entityId])).toEqual([
      ['directory_quota.repaired', q.id],
      ['directory_quota.updated', q.id],
      ['directory_quota.created', q.id],
    ]);
    expect(history.body.items[0].before).toMatchObject({ quotaId: q.id, volumeId: vol.id });
    const ofVolume = await api().get(`/v1/audit?entityType=volume&entityId=${vol.id}`).set('authorization', admin);
    expect(ofVolume.body.items.map((e: { action: string }) => e.action)).not.toContain('directory_quota.updated');
  });

  it('discovers a quota set outside Headroom, never changes it until an admin takes it over', async () => {
    const theirs = { maxSpace: 3n << 30n, maxInodes: -1n, usedSpace: 4096n, usedInodes: 1n };
    await store.txn(async (x) => x.put(tv.keys.dirQuota(ino.bob!), encodeDirQuota(theirs)));
    const clobber = await api().post(base()).set('authorization', admin).send({ path: '/team/bob', hardBytes: MiB });
    expect(clobber.status).toBe(409);
    expect(clobber.body.code).toBe('directory_quota_unmanaged');
    const found = await api().post(`${base()}/discover`).set('authorization', platform);
    expect(found.status).toBe(200);
    expect(found.body.items).toEqual([expect.objectContaining({ path: '/team/bob', managed: false, quota: expect.objectContaining({ hardBytes: 3 * 2 ** 30, hardInodes: null }) })]);
    expect((await api().post(`${base()}/discover`).set('authorization', platform)).body.items).toEqual([]);
    const id = found.body.items[0].id as string;
    expect((await api().patch(`${base()}/${id}`).set('authorization', admin).send({ hardBytes: MiB })).status).toBe(409);
    expect((await api().delete(`${base()}/${id}`).set('authorization', admin)).status).toBe(409);
    expect((await api().patch(`${base()}/${id}`).set('authorization', platform).send({ takeOver: true })).status).toBe(403);
    expect(await raw(ino.bob!)).toEqual(theirs);
    const taken = await api().patch(`${base()}/${id}`).set('authorization', admin).send({ takeOver: true });
    expect(taken.status).toBe(200);
    expect(taken.body).toMatchObject({ managed: true, juicefs: { maxBytes: 3 * 2 ** 30 } });
    expect(await raw(ino.bob!)).toEqual(theirs); // taking over writes what is already there
  });

  it('discovers quotas set outside Headroom after each walk, without being asked', async () => {
    const gbkDir = ino.deep!; // no quota there yet
    await store.txn(async (x) => x.put(tv.keys.dirQuota(gbkDir), encodeDirQuota({ maxSpace: 1n << 30n, maxInodes: 100n, usedSpace: 0n, usedInodes: 0n })));
    const before = (await api().get(base()).set('authorization', admin)).body.items.length;
    const walk = await api().post(`/v1/volumes/${vol.id}/walks`).set('authorization', admin);
    expect(walk.status).toBe(202);
    for (let i = 0; i < 200; i++) {
      const s = await api().get(`/v1/volumes/${vol.id}/walks/${walk.body.id}`).set('authorization', admin);
      if (s.body.state === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    let items: { pathBase64: string; managed: boolean }[] = [];
    for (let i = 0; i < 100 && items.length <= before; i++) {
      items = (await api().get(base()).set('authorization', admin)).body.items;
      if (items.length === before) await new Promise((r) => setTimeout(r, 50));
    }
    const found = items.find((q) => Buffer.from(q.pathBase64, 'base64').toString() === '/team/alice/deep');
    expect(found).toMatchObject({ managed: false });
  });

  it('deletes the record as juicefs quota delete does', async () => {
    const q = (await api().get(base()).set('authorization', admin)).body.items.find((x: { path: string }) => x.path === '/team/bob');
    const res = await api().delete(`${base()}/${q.id}`).set('authorization', platform);
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('deleted');
    expect(await raw(ino.bob!)).toBeUndefined();
    expect((await api().get(`${base()}/${q.id}`).set('authorization', admin)).status).toBe(404);
  });

  it('freezes a directory by clamping its JuiceFS hard limit to its usage, and the pass applies the policy', async () => {
    const q = (await api().get(base()).set('authorization', admin)).body.items.find((x: { path: string }) => x.path === '/team/alice');
    expect((await api().post(`${base()}/${q.id}/freeze`).set('authorization', platform).send({ reason: 'cleanup first' })).status).toBe(403);
    const frozen = await api().post(`${base()}/${q.id}/freeze`).set('authorization', admin).send({ reason: 'cleanup first' });
    expect(frozen.status, JSON.stringify(frozen.body)).toBe(200);
    expect(frozen.body.enforcement).toMatchObject({ state: 'frozen', reason: 'manual_freeze', manualFreeze: { reason: 'cleanup first', until: null } });
    expect(await raw(ino.alice!)).toMatchObject({ maxSpace: 114688n, maxInodes: 3n, usedSpace: 114688n });
    const lifted = await api().post(`${base()}/${q.id}/unfreeze`).set('authorization', admin).send({ reason: 'done' });
    expect(lifted.body.enforcement).toMatchObject({ state: 'ok', manualFreeze: null });
    expect(await raw(ino.alice!)).toMatchObject({ maxSpace: BigInt(2 * MiB), maxInodes: -1n });
    expect((await api().post(`${base()}/${q.id}/unfreeze`).set('authorization', admin).send({ reason: 'again' })).body.code).toBe('not_manually_frozen');
    // Clients record growth past the soft limit (512 KiB): the next pass says over_soft, with grace.
    await store.txn(async (x) => x.put(tv.keys.dirQuota(ino.alice!), encodeDirQuota({ maxSpace: BigInt(2 * MiB), maxInodes: -1n, usedSpace: 600n << 10n, usedInodes: 9n })));
    expect(await t.services.dirQuotaEnforcer.pass()).toMatchObject({ changed: 1 });
    const over = await api()
      .get(`${base()}/${q.id}`)
      .set('authorization', `Bearer ${t.token('engineer', 'alice', ['acme'])}`);
    expect(over.body.enforcement).toMatchObject({ state: 'over_soft', reason: 'soft_bytes_exceeded' });
    expect(Date.parse(over.body.enforcement.graceDeadline) - Date.now()).toBeGreaterThan(500_000);
    expect(over.body.usage).toEqual({ usedBytes: 600 << 10, usedInodes: 9, source: 'juicefs' });
    const notices = await t.database.db('notifications').where({ volume_id: vol.id }).orderBy('created_at').select('type');
    expect(notices.map((n: { type: string }) => n.type)).toEqual(['directory.frozen', 'directory.unfrozen', 'directory.soft_exceeded']);
  });

  it('runs in the scheduled counters job and retries failed record writes in the reconcile job', async () => {
    const counters = await runJob(t.http, 'counters', admin);
    expect(counters.state).toBe('succeeded');
    // Every managed quota with a native record is read and decided (discovered ones are only listed).
    const managed = (await api().get(base()).set('authorization', admin)).body.items.filter((q: { managed: boolean }) => q.managed).length;
    expect(counters.counts['directoryQuotas.evaluated']).toBe(managed);
    const reconcile = await runJob(t.http, 'reconcile', admin);
    expect(reconcile.counts).toMatchObject({ 'directoryQuotaWrites.failed': 0 });
  });

  it('puts user and group quotas only on formats that have them, as juicefs quota set --uid/--gid writes them', async () => {
    const users = `/v1/volumes/${vol.id}/user-quotas`;
    const refused = await api().post(users).set('authorization', admin).send({ uid: 1000, hardBytes: MiB });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'native_quota_unsupported', reason: expect.stringContaining('UserGroupQuota') });
    // Turned on as `juicefs quota set --uid` turns it on (Headroom never rewrites a format for it).
    const text = await tv.readSettingText();
    await store.txn(async (x) => x.put(tv.keys.setting(), Buffer.from(text.replace('"DirStats": true', '"DirStats": true,\n"UserGroupQuota": true'))));
    const made = await api()
      .post(users)
      .set('authorization', platform)
      .send({ uid: 1000, hardBytes: MiB, softBytes: MiB / 2, ownerSub: 'alice' });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ kind: 'user', path: 'uid:1000', inode: 1000, native: true, juicefs: { appliedGeneration: 1, maxBytes: MiB, maxInodes: -1 } });
    const key = Buffer.concat([tv.keys.p, Buffer.from('QU'), Buffer.from([0, 0, 0, 0, 0, 0, 0x03, 0xe8])]);
    expect(decodeDirQuota((await store.get(key))!, 'x')).toEqual({ maxSpace: BigInt(MiB), maxInodes: -1n, usedSpace: 0n, usedInodes: 0n });
    expect((await api().post(users).set('authorization', admin).send({ uid: 1000 })).body.code).toBe('directory_quota_exists');
    const groups = await api().post(`/v1/volumes/${vol.id}/group-quotas`).set('authorization', admin).send({ gid: 1000, hardInodes: 5 });
    expect(groups.body).toMatchObject({ kind: 'group', path: 'gid:1000' });
    expect((await api().get(users).set('authorization', admin)).body.items.map((q: { path: string }) => q.path)).toEqual(['uid:1000']);
    // Not reachable as another kind.
    expect((await api().get(`${base()}/${made.body.id}`).set('authorization', admin)).status).toBe(404);
    const del = await api().delete(`${users}/${made.body.id}`).set('authorization', admin);
    expect(del.body.state).toBe('deleted');
    expect(decodeDirQuota((await store.get(key))!, 'x')).toEqual({ maxSpace: -1n, maxInodes: -1n, usedSpace: 0n, usedInodes: 0n });
  });

  it('keeps soft limits on a volume without native quotas and refuses a hard one, saying why', async () => {
    const legacy = new TkvVolume(store, Buffer.from('old-vol'));
    await legacy.format({ name: 'old-vol', storage: 'file', bucket: '/old/', version: '0.17' });
    const fx = new FixtureBuilder(store, legacy.keys, { dirStats: false });
    const proj = await fx.mkdir(ROOT_INODE, 'proj');
    await fx.file(proj, 'data', 5000); // 8192 counted
    await fx.file(proj, 'more', 1); // 4096
    await fx.finish();
    const adopted = await api()
      .post('/v1/tenants/acme/volumes')
      .set('authorization', admin)
      .send({ name: 'old', adopt: { metaUrl: `local://${path.join(t.dataDir, 'meta.db')}?prefix=old-vol` } });
    expect(adopted.status, JSON.stringify(adopted.body)).toBe(201);
    const url = `/v1/volumes/${adopted.body.id}/directory-quotas`;
    const hard = await api().post(url).set('authorization', admin).send({ path: '/proj', hardBytes: MiB });
    expect(hard.status).toBe(409);
    expect(hard.body).toMatchObject({ code: 'native_quota_unsupported', reason: expect.stringContaining('v0.17') });
    const soft = await api().post(url).set('authorization', admin).send({ path: '/proj', softBytes: MiB });
    expect(soft.status).toBe(201);
    expect(soft.body).toMatchObject({ native: false, usage: null });
    const [start, end] = [Buffer.concat([legacy.keys.p, Buffer.from('QD')]), Buffer.concat([legacy.keys.p, Buffer.from('QE')])];
    for await (const _ of store.scan(start, end)) throw new Error('no JuiceFS record may be written on a v0.17 volume');
    expect((await api().patch(`${url}/${soft.body.id}`).set('authorization', admin).send({ hardInodes: 10 })).status).toBe(409);

    // Usage comes from walks there: a walk, then the pass warns (and never freezes the folder).
    const started = await api().post(`/v1/volumes/${adopted.body.id}/walks`).set('authorization', admin);
    expect(started.status).toBe(202);
    for (let i = 0; i < 200; i++) {
      const sc = await api().get(String(started.headers.location)).set('authorization', admin);
      if (sc.body.state === 'succeeded') break;
      expect(sc.body.state).not.toBe('failed');
      await new Promise((r) => setTimeout(r, 50));
    }
    const walked = await api().get(`${url}/${soft.body.id}`).set('authorization', admin);
    expect(walked.body.usage).toEqual({ usedBytes: 8192 + 4096, usedInodes: 2, source: 'walk' });
    await api().patch(`${url}/${soft.body.id}`).set('authorization', admin).send({ softBytes: 10_000, graceSeconds: 0 });
    await t.services.dirQuotaEnforcer.pass();
    const warned = await api().get(`${url}/${soft.body.id}`).set('authorization', admin);
    expect(warned.body.enforcement).toMatchObject({ state: 'over_soft', reason: 'soft_bytes_exceeded' });
    await t.services.dirQuotaEnforcer.pass(); // grace 0 has run out: still only a warning
    expect((await api().get(`${url}/${soft.body.id}`).set('authorization', admin)).body.enforcement.state).toBe('over_soft');
    const types = await t.database.db('notifications').where({ volume_id: adopted.body.id }).select('type');
    expect(types.map((n: { type: string }) => n.type)).toEqual(['directory.soft_warning']);
  });
});

if (pgAvailable()) {
  let n = 0;
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await t.database.db('tenants').insert({ id: 'acme', display_name: 'Acme', email: 'a@example.com' });
  });
  afterAll(async () => t?.close());
  directoryQuotaStoreContract('PostgreSQL (knex)', async () => ({
    store: new KnexDirectoryQuotaStore(t.database.db),
    volume: async () => {
      const id = `vol_dq_${++n}`;
      const name = id.replace(/_/g, '-');
      await t.database.db('volume_prefixes').insert({ prefix: name, volume_id: id });
      const quota = { softBytes: null, hardBytes: null, softInodes: null, hardInodes: null, graceSeconds: 0 };
      await insertVolume(t.database.db, { id, tenantId: 'acme', name, prefix: name, engine: 'local', metaUrl: `local://x?prefix=${name}`, quota, requestHash: id });
      return { id, tenantId: 'acme' };
    },
    auditActions: async (volumeId) => (await t.database.db('audit_events').where({ entity_id: volumeId }).orderBy('id').select('action')).map((r: { action: string }) => r.action),
  }));
}
