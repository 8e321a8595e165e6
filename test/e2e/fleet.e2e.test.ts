/**
 * `GET /v1/fleet`: the admin's fleet table, sorted and filtered in PostgreSQL over volumes,
 * readings, enforcement states, samples and walks; paged by offset with the matching total.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { request } from '../support/api.js';
import { startEngine, type EngineUnderTest } from '../support/engines.js';
import { buildTenant } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const MB = 1_000_000;

describe.runIf(pgAvailable())('the fleet', () => {
  let t: TestApp;
  let eng: EngineUnderTest;
  let admin: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    eng = await startEngine('local');
    t = await createTestApp(eng.env);
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme' });
    await buildTenant(t.http, admin, { id: 'beta' });
    // name, tenant, MB used, hard MB (null = unlimited)
    for (const [name, tenant, used, hard] of [
      ['a-full', 'acme', 110, 100],
      ['b-half', 'acme', 50, 100],
      ['c-small', 'beta', 5, 100],
      ['d-unlimited', 'beta', 30, null],
      ['e-gone', 'beta', 1, 100],
    ] as const) {
      const res = await request(t.http)
        .post(`/v1/tenants/${tenant}/volumes`)
        .set('authorization', admin)
        .send({ name, quota: hard === null ? {} : { hardBytes: hard * MB } });
      expect(res.status).toBe(201);
      ids[name] = res.body.id;
      const h = eng.handle(res.body.id, res.body.metaUrl);
      await h.fx.file(ROOT_INODE, 'data.bin', used * MB);
      await h.fx.finish();
    }
    await t.services.enforcement.countersPass();
    // Two days ago b-half held 10 MB: it grows about 20 MB a day.
    await t.database.db('usage_samples').insert({ volume_id: ids['b-half'], resolution: 'hour', at: new Date(Date.now() - 2 * 86_400_000), bytes: 10n * BigInt(MB), inodes: 1n });
    const v = await t.services.volumes.get({ sub: 'root', role: 'admin', tenants: [] }, ids['c-small']!);
    expect((await t.services.walks.walkNow(v, {}))?.state).toBe('succeeded');
    expect((await request(t.http).delete(`/v1/volumes/${ids['e-gone']}`).set('authorization', admin)).status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await eng?.stop();
  });

  const fleet = async (q: string, auth = admin) => request(t.http).get(`/v1/fleet${q}`).set('authorization', auth);
  const names = (body: { items: { name: string }[] }) => body.items.map((i) => i.name);

  it('lists live volumes with state, usage, percent of hard, growth and last walk', async () => {
    const res = await fleet('');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(4); // the deleted one is left out
    expect(names(res.body)).toEqual(['a-full', 'b-half', 'c-small', 'd-unlimited']);
    const [full, half, small, unlimited] = res.body.items;
    expect(full).toMatchObject({ tenantId: 'acme', engine: 'local', state: 'frozen', hardBytes: 100 * MB, percentOfHard: expect.closeTo(110, 0) });
    expect(half).toMatchObject({ state: 'ok', percentOfHard: expect.closeTo(50, 0), lastWalkAt: null });
    expect(half.growthPerDay).toBeGreaterThan(19 * MB);
    expect(half.growthPerDay).toBeLessThan(21 * MB);
    expect(full.growthPerDay).toBeNull(); // no sample older than its first reading
    expect(small.lastWalkAt).not.toBeNull();
    expect(unlimited).toMatchObject({ hardBytes: null, percentOfHard: null });
  });

  it('sorts by percent, growth, usage and last walk, nulls last either way', async () => {
    expect(names((await fleet('?sort=percent&order=desc')).body)).toEqual(['a-full', 'b-half', 'c-small', 'd-unlimited']);
    expect(names((await fleet('?sort=percent&order=asc')).body)).toEqual(['c-small', 'b-half', 'a-full', 'd-unlimited']);
    expect(names((await fleet('?sort=usedBytes&order=desc')).body)).toEqual(['a-full', 'b-half', 'd-unlimited', 'c-small']);
    expect(names((await fleet('?sort=growth&order=desc')).body)[0]).toBe('b-half');
    expect(names((await fleet('?sort=lastWalk&order=desc')).body)[0]).toBe('c-small');
    expect(
      names((await fleet('?sort=tenant&order=desc')).body)
        .slice(0, 2)
        .sort(),
    ).toEqual(['c-small', 'd-unlimited']);
  });

  it('filters by tenant, state, engine and percent, with the total of what matches', async () => {
    expect((await fleet('?tenantId=acme')).body).toMatchObject({ total: 2 });
    expect(names((await fleet('?state=frozen')).body)).toEqual(['a-full']);
    expect(names((await fleet('?minPercent=50')).body)).toEqual(['a-full', 'b-half']);
    expect((await fleet('?engine=etcd')).body).toEqual({ items: [], total: 0 });
  });

  it('pages by offset and keeps the total past the end', async () => {
    const p2 = await fleet('?limit=2&offset=2&sort=name');
    expect(p2.body).toMatchObject({ total: 4 });
    expect(names(p2.body)).toEqual(['c-small', 'd-unlimited']);
    expect((await fleet('?limit=2&offset=10')).body).toEqual({ items: [], total: 4 });
  });

  it('is for admins and the platform role only, and refuses junk parameters', async () => {
    expect((await fleet('', `Bearer ${t.token('engineer', 'eve', ['acme'])}`)).status).toBe(403);
    expect((await fleet('', `Bearer ${t.token('platform', 'ops')}`)).status).toBe(200);
    for (const q of ['?sort=size', '?order=up', '?minPercent=-1', '?offset=-1', '?limit=0', '?state=deleting']) expect((await fleet(q)).status, q).toBe(400);
  });
});
