/**
 * Volumes end to end on real engines: onboarding formats the prefix, usage reads the counters,
 * a walk runs in the background and its directories are served, adoption registers an existing
 * volume without touching it. Local engine always; etcd when the binary is installed.
 */
import path from 'node:path';
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdEngine } from '../../server/engines/etcd/etcd-engine.js';
import { hexKey } from '../../server/engines/kv.js';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { etcdAvailable, startEtcd, type TestEtcd } from '../support/etcd.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const withEtcd = etcdAvailable();

describe.skipIf(!pgAvailable())('volume metadata over the API', () => {
  let t: TestApp;
  let etcd: TestEtcd | undefined;
  let admin: string;
  let store: LocalEngine; // a second connection to the app's local store, as another process would have
  beforeAll(async () => {
    if (withEtcd) etcd = await startEtcd();
    t = await createTestApp(etcd ? { ETCD_ENDPOINTS: etcd.endpoint } : {});
    admin = `Bearer ${t.token('admin', 'root')}`;
    for (const id of ['acme', 'other']) {
      await buildTenant(t.http, admin, { id, displayName: id, email: `${id}@example.com` });
    }
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
    await etcd?.stop();
  });

  const create = (body: object, tenant = 'acme') => request(t.http).post(`/v1/tenants/${tenant}/volumes`).set('authorization', admin).send(body);
  const poll = async (url: string, auth = admin) => {
    for (let i = 0; i < 200; i++) {
      const r = await request(t.http).get(url).set('authorization', auth);
      if (r.body.state === 'succeeded' || r.body.state === 'failed') return r;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error('walk did not finish');
  };

  it('formats a new volume on the local engine with its hard limits as JuiceFS Capacity/Inodes', async () => {
    const res = await create({ name: 'train', quota: { softBytes: 1 << 20, hardBytes: 2 << 20, hardInodes: 1000 } });
    expect(res.status).toBe(201);
    expect(res.body.state).toBe('active');
    const v = new TkvVolume(store, Buffer.from(res.body.prefix));
    const s = await v.readSetting();
    expect(s).toMatchObject({ name: 'acme-train', storage: 'file', capacity: 2n << 20n, inodes: 1000n, trashDays: 1, metaVersion: 1 });
    expect(s.bucket).toBe(path.join(t.dataDir, 'objects') + '/');
  });

  it('serves counters as usage, walks in the background, and lists the largest directories', async () => {
    const vol = (await create({ name: 'walked' })).body;
    const engineer = `Bearer ${t.token('engineer', 'eve', ['acme'])}`;
    const usage0 = await request(t.http).get(`/v1/volumes/${vol.id}/usage`).set('authorization', engineer);
    expect(usage0.status).toBe(200);
    expect(usage0.body).toMatchObject({ usedBytes: 0, usedInodes: 0, source: 'counters' });

    const fx = new FixtureBuilder(store, new TkvVolume(store, Buffer.from(vol.prefix)).keys);
    const big = await fx.mkdir(ROOT_INODE, 'big');
    const small = await fx.mkdir(ROOT_INODE, 'small');
    const nested = await fx.mkdir(big, 'nested');
    for (let i = 0; i < 5; i++) await fx.file(big, `f${i}`, 1_000_000);
    await fx.file(nested, 'n', 10_000);
    await fx.file(small, 's', 1);
    const hour = await fx.trashDir('2026-11-25-01');
    await fx.file(hour, '1-9-old', 5_000_000);
    const totals = await fx.finish();

    const usage = await request(t.http).get(`/v1/volumes/${vol.id}/usage`).set('authorization', engineer);
    expect(usage.body).toMatchObject({ usedBytes: Number(totals.usedSpace), usedInodes: Number(totals.totalInodes) });

    const none = await request(t.http).get(`/v1/volumes/${vol.id}/directories`).set('authorization', engineer);
    expect(none.body).toEqual({ walk: null, items: [] });
    expect((await request(t.http).post(`/v1/volumes/${vol.id}/walks`).set('authorization', engineer)).status).toBe(403);

    const started = await request(t.http).post(`/v1/volumes/${vol.id}/walks`).set('authorization', admin);
    expect(started.status).toBe(202);
    expect(started.headers.location).toBe(`/v1/volumes/${vol.id}/walks/${started.body.id}`);
    const done = await poll(String(started.headers.location));
    expect(done.body.state).toBe('succeeded');
    expect(done.body.result.mismatch).toBeNull();
    expect(done.body.result.counters.usedBytes).toBe(totals.usedSpace.toString());
    const align = (n: number) => Math.ceil(n / 4096) * 4096;
    const bigBytes = 5 * align(1_000_000) + 4096 + align(10_000); // 5 files, dir nested, its file
    expect(BigInt(done.body.result.trash.bytes)).toBe(BigInt(4096 + align(5_000_000)));

    const dirs = await request(t.http).get(`/v1/volumes/${vol.id}/directories?depth=1&limit=2&sort=bytes`).set('authorization', engineer);
    expect(dirs.status).toBe(200);
    expect(dirs.body.items.map((d: { path: string }) => d.path)).toEqual(['/', '/big']);
    expect(dirs.body.items[1]).toMatchObject({ bytes: bigBytes, inodes: 7, files: 6, dirs: 1, depth: 1, directInodes: 6 });
    const deep = await request(t.http).get(`/v1/volumes/${vol.id}/directories?depth=2&sort=inodes`).set('authorization', engineer);
    expect(deep.body.items.map((d: { path: string }) => d.path)).toEqual(['/', '/big', '/big/nested', '/small']);

    const outsider = `Bearer ${t.token('engineer', 'mallory', ['other'])}`;
    for (const url of [`/v1/volumes/${vol.id}/usage`, `/v1/volumes/${vol.id}/directories`, String(started.headers.location)]) {
      const r = await request(t.http).get(url).set('authorization', outsider);
      expect(r.status).toBe(404);
    }
    const audit = await request(t.http).get(`/v1/audit?entityId=${started.body.id}`).set('authorization', admin);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['walk.succeeded', 'walk.requested']);
  });

  it('reports a walk on corrupt metadata as a failed walk naming the key', async () => {
    const vol = (await create({ name: 'corrupt' })).body;
    const v = new TkvVolume(store, Buffer.from(vol.prefix));
    await store.txn(async (tx) => tx.put(v.keys.attr(77n), Buffer.alloc(10)));
    const started = await request(t.http).post(`/v1/volumes/${vol.id}/walks`).set('authorization', admin);
    const done = await poll(String(started.headers.location));
    expect(done.body.state).toBe('failed');
    expect(done.body.error).toContain(hexKey(v.keys.attr(77n)));
  });

  it('adopts an existing volume without rewriting it, and refuses what it must', async () => {
    const existing = new TkvVolume(store, Buffer.from('legacy-vol'));
    await existing.format({ name: 'legacy-vol', storage: 'file', bucket: '/old/', capacity: 123n });
    const before = await existing.readSettingText();
    const metaUrl = `local://${path.join(t.dataDir, 'meta.db')}?prefix=legacy-vol`;
    const res = await create({ name: 'legacy', adopt: { metaUrl } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ state: 'active', prefix: 'legacy-vol', engine: 'local', metaUrl });
    expect(await existing.readSettingText()).toBe(before);
    expect((await create({ name: 'legacy', adopt: { metaUrl } })).status).toBe(200);

    const twice = await create({ name: 'legacy2', adopt: { metaUrl } });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('prefix_in_use');
    const ours = (await create({ name: 'train2' })).body;
    const stolen = await create({ name: 'steal', adopt: { metaUrl: `local://${path.join(t.dataDir, 'meta.db')}?prefix=${ours.prefix}` } }, 'other');
    expect(stolen.status).toBe(409);

    const empty = await create({ name: 'nothing', adopt: { metaUrl: `local://${path.join(t.dataDir, 'meta.db')}?prefix=nothing-here` } });
    expect(empty.status).toBe(422);
    expect(empty.body.code).toBe('not_a_juicefs_volume');
    const foreign = await create({ name: 'foreign', adopt: { metaUrl: 'local:///etc/passwd?prefix=x' } });
    expect(foreign.status).toBe(422);
    expect(foreign.body.code).toBe('invalid_meta_url');
    const withEngine = await create({ name: 'both', engine: 'local', adopt: { metaUrl } });
    expect(withEngine.status).toBe(400);
    expect(withEngine.body.detail).toContain('adopt');
    const count = await t.database.db('volumes').where({ name: 'nothing' }).count<{ count: bigint }[]>('* as count');
    expect(Number(count[0]!.count)).toBe(0);
  });

  it.skipIf(!withEtcd)('formats etcd volumes under the slash-prefixed key range JuiceFS uses', async () => {
    const res = await create({ name: 'on-etcd', engine: 'etcd' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ state: 'active', metaUrl: `etcd://${etcd!.endpoint}/acme-on-etcd` });
    const e = new EtcdEngine({ endpoints: [etcd!.endpoint] });
    try {
      const setting = await e.get(Buffer.concat([Buffer.from('/acme-on-etcd'), Buffer.from([0xfd]), Buffer.from('setting')]));
      expect(JSON.parse(Buffer.from(setting!).toString()).Name).toBe('acme-on-etcd');
      const usage = await request(t.http).get(`/v1/volumes/${res.body.id}/usage`).set('authorization', admin);
      expect(usage.body).toMatchObject({ usedBytes: 0, usedInodes: 0 });
    } finally {
      await e.close();
    }
  });
});
