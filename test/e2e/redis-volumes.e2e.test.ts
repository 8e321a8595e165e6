/**
 * Volumes on the JuiceFS Redis engine through the API, on a private password-protected
 * redis-server: database allocation from the pool (never reused, exhaustion is a 409), format,
 * usage and walks, adoption, and credentials that never leave the server's configuration.
 */
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisFixtureBuilder } from '../../server/meta/redis/fixture.js';
import { RedisVolume } from '../../server/meta/redis/redis-volume.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { pgAvailable } from '../support/pg.js';
import { redisServerAvailable, startRedisServer, type TestRedisServer } from '../support/redis.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const PASSWORD = 's3cret-redis-pass';

describe.skipIf(!(pgAvailable() && redisServerAvailable()))('volumes on Redis', () => {
  let t: TestApp;
  let server: TestRedisServer;
  let admin: string;
  beforeAll(async () => {
    server = await startRedisServer(32, PASSWORD);
    t = await createTestApp({ REDIS_META_URL: server.url, REDIS_META_DBS: '3-5' });
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme', displayName: 'Acme', email: 'a@example.com' });
  });
  afterAll(async () => {
    await t?.close();
    await server?.stop();
  });
  const create = (body: object) => request(t.http).post('/v1/tenants/acme/volumes').set('authorization', admin).send(body);

  it('gives each volume its own database from the pool, formats it, and never reuses one', async () => {
    const a = await create({ name: 'r1', engine: 'redis', quota: { hardBytes: 50_000_000 } });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ state: 'active', engine: 'redis', metaUrl: `redis://127.0.0.1:${server.port}/3` });
    const s = await new RedisVolume(server.client(3)).readSetting();
    expect(s).toMatchObject({ name: 'acme-r1', capacity: 50_000_000n });

    // Someone else's data in the next database: formatting refuses, the volume is failed, and
    // the database stays spent (it is never handed out again).
    await server.client(4).set('not-juicefs', 'x');
    const b = await create({ name: 'r2', engine: 'redis' });
    expect(b.body).toMatchObject({ state: 'failed' });
    expect(b.body.stateDetail).toMatch(/not empty|holds/i);
    expect(await server.client(4).get('not-juicefs')).toBe('x'); // untouched

    await request(t.http).delete(`/v1/volumes/${a.body.id}`).set('authorization', admin).expect(200);
    const c = await create({ name: 'r3', engine: 'redis' });
    expect(c.body.metaUrl).toMatch(/\/5$/);
    const d = await create({ name: 'r4', engine: 'redis' });
    expect(d.status).toBe(409);
    expect(d.body.code).toBe('redis_pool_exhausted');
    const ledger = await t.database.db('redis_databases').orderBy('db');
    expect(ledger.map((r: { db: number }) => r.db)).toEqual([3, 4, 5]);
  });

  it('serves usage and walks of a Redis volume', async () => {
    const vol = (await t.database.db('volumes').where({ name: 'r3' }).first()) as { id: string };
    const fx = new RedisFixtureBuilder(server.client(5));
    const dir = await fx.mkdir(ROOT_INODE, 'checkpoints');
    const f = await fx.file(dir, 'a.pt', 3_000_000, { linkable: true });
    await fx.link(f, ROOT_INODE, 'latest.pt');
    await fx.file(dir, Buffer.from([0x66, 0xff, 0x2e, 0x62, 0x69, 0x6e]), 10_000);
    const hour = await fx.trashDir('2026-11-29-10');
    await fx.file(hour, '1-2-old.bin', 1_000_000);
    const totals = await fx.finish();
    const u = await request(t.http).get(`/v1/volumes/${vol.id}/usage`).set('authorization', admin);
    expect(u.body).toMatchObject({ usedBytes: Number(totals.usedSpace), usedInodes: Number(totals.totalInodes) });
    const walk = await request(t.http).post(`/v1/volumes/${vol.id}/walks`).set('authorization', admin).expect(202);
    let s = walk.body;
    for (let i = 0; i < 100 && !['succeeded', 'failed'].includes(s.state); i++) {
      await new Promise((r) => setTimeout(r, 50));
      s = (await request(t.http).get(String(walk.headers.location)).set('authorization', admin)).body;
    }
    expect(s.state).toBe('succeeded');
    expect(s.result.mismatch).toBeNull();
    expect(s.result.trash).toMatchObject({ inodes: '2' });
    const dirs = await request(t.http).get(`/v1/volumes/${vol.id}/directories?depth=1`).set('authorization', admin);
    // The hard-linked file counts in every directory holding a link (as `du` does), once in the total; trash apart.
    expect(dirs.body.items.find((d: { path: string }) => d.path === '/checkpoints')).toMatchObject({ files: 2, logicalBytes: 3_010_000 });
    expect(dirs.body.items.find((d: { path: string }) => d.path === '/')).toMatchObject({ inodes: Number(totals.totalInodes) - 2, logicalBytes: 3_010_000 });
  });

  it('adopts a formatted database on the configured server, once, and only there', async () => {
    await new RedisVolume(server.client(10)).format({ name: 'legacy-fs', storage: 's3', bucket: 'https://s3/legacy', capacity: 7n << 30n, version: '0.17' });
    const url = `redis://:${PASSWORD}@127.0.0.1:${server.port}/10`;
    const a = await create({ name: 'legacy', adopt: { metaUrl: url } });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ state: 'active', engine: 'redis', metaUrl: `redis://127.0.0.1:${server.port}/10` });
    const again = await create({ name: 'legacy-2', adopt: { metaUrl: url } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('prefix_in_use');
    const elsewhere = await create({ name: 'x', adopt: { metaUrl: 'redis://10.1.2.3:6379/1' } });
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.body.code).toBe('invalid_meta_url');
    const empty = await create({ name: 'y', adopt: { metaUrl: `redis://127.0.0.1:${server.port}/11` } });
    expect(empty.status).toBe(422);
    expect(empty.body.code).toBe('not_a_juicefs_volume');
    // The freeze lever works on it, and the adopted limits were remembered.
    const e = await request(t.http).get(`/v1/volumes/${a.body.id}/enforcement`).set('authorization', admin);
    expect(e.body.juicefsLimits).toEqual({ capacity: 7 * 2 ** 30, inodes: 0 });
  });

  it('never lets the Redis password out', async () => {
    const everything = JSON.stringify([
      (await request(t.http).get('/v1/volumes').set('authorization', admin)).body,
      (await request(t.http).get('/v1/audit?limit=500').set('authorization', admin)).body,
      await t.database.db('volumes').select('meta_url', 'state_detail'),
    ]);
    expect(everything).not.toContain(PASSWORD);
  });
});
