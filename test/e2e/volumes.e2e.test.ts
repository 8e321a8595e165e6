import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { startFakeTikv } from '../support/tikv-fake/index.js';

describe.skipIf(!pgAvailable())('volumes', () => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await createTestApp();
    admin = `Bearer ${t.token('admin', 'alice')}`;
    for (const id of ['acme', 'other']) {
      await buildTenant(t.http, admin, { id, displayName: id, email: `${id}@example.com` });
    }
  });
  afterAll(() => t?.close());

  const create = (tenant: string, body: object, auth = admin) => request(t.http).post(`/v1/tenants/${tenant}/volumes`).set('authorization', auth).send(body);

  it('creates a volume with a derived prefix and an audit row, and answers a repeat with 200', async () => {
    const body = { name: 'data', quota: { softBytes: 900, hardBytes: 1000, graceSeconds: 60 } };
    const first = await create('acme', body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      tenantId: 'acme',
      name: 'data',
      prefix: 'acme-data',
      engine: 'local',
      // Formatted on the embedded local engine before the response.
      state: 'active',
      quota: { softBytes: 900, hardBytes: 1000, softInodes: null, hardInodes: null, graceSeconds: 60 },
    });
    expect(first.body.metaUrl).toMatch(/^local:\/\/.+\?prefix=acme-data$/);
    expect(first.headers.location).toBe(`/v1/volumes/${first.body.id}`);
    const tenant = await request(t.http).post('/v1/tenants').set('authorization', admin).send({ id: 'located', displayName: 'L', email: 'l@example.com' });
    expect([tenant.status, tenant.headers.location]).toEqual([201, '/v1/tenants/located']);
    // Its counters were read on creation: usage and enforcement are real from the first minute.
    const usage = await request(t.http).get(`/v1/volumes/${first.body.id}/usage`).set('authorization', admin);
    expect(usage.body).toMatchObject({ usedBytes: 0, usedInodes: 0, state: 'ok' }); // JuiceFS counts no inode for the root
    expect(Date.now() - Date.parse(usage.body.readAt)).toBeLessThan(60_000);
    const enf = await request(t.http).get(`/v1/volumes/${first.body.id}/enforcement`).set('authorization', admin);
    expect(enf.body).toMatchObject({ unknown: null, usage: { bytes: 0, inodes: 0 } });

    const again = await create('acme', body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);

    const conflict = await create('acme', { name: 'data', quota: { hardBytes: 5 } });
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('volume_name_taken');

    const audit = await request(t.http).get(`/v1/audit?entityId=${first.body.id}`).set('authorization', admin);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['volume.activated', 'volume.created']);
    expect(audit.body.items[1]).toMatchObject({ actor: 'alice', actorRole: 'admin', tenantId: 'acme', before: null });
    expect(audit.body.items[1].after.prefix).toBe('acme-data');
  });

  it('builds TiKV meta URLs from the configured PD endpoints', async () => {
    const fake = await startFakeTikv();
    const tikv = await createTestApp({ TIKV_PD_ENDPOINTS: fake.pdEndpoint });
    try {
      const a = `Bearer ${tikv.token('platform')}`;
      await buildTenant(tikv.http, a, { id: 'acme', displayName: 'A', email: 'a@example.com' });
      const res = await request(tikv.http).post('/v1/tenants/acme/volumes').set('authorization', a).send({ name: 'ckpt', engine: 'tikv' });
      expect(res.status).toBe(201);
      expect(res.body.metaUrl).toBe(`tikv://${fake.pdEndpoint}/acme-ckpt`);
      expect(res.body.state).toBe('active'); // formatted through the TiKV client on the fake cluster
      expect(fake.inspect(Buffer.from('acme-ckpt\xfdsetting', 'latin1')).writes[0]?.type).toBe('put');
      const etcd = await request(tikv.http).post('/v1/tenants/acme/volumes').set('authorization', a).send({ name: 'x', engine: 'etcd' });
      expect(etcd.status).toBe(400);
      expect(etcd.body.code).toBe('engine_not_configured');
    } finally {
      await tikv.close();
      await fake.close();
    }
  });

  it('honours Idempotency-Key: same key and body replays, different body is 422', async () => {
    const send = (body: object) => create('acme', body).set('Idempotency-Key', 'key-1');
    const a = await send({ name: 'idem' });
    const b = await send({ name: 'idem' });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201); // the stored first response, replayed
    expect(b.body).toEqual(a.body);
    const c = await send({ name: 'idem-2' });
    expect(c.status).toBe(422);
    expect(c.body.code).toBe('idempotency_key_reused');
  });

  it('50 concurrent creates whose names collide after truncation get 50 distinct prefixes', async () => {
    // Every name shares its first 60 characters, so every derived prefix truncates to the same 63 bytes.
    const stem = 'x'.repeat(58);
    const names = Array.from({ length: 50 }, (_, i) => `${stem}-${String(i).padStart(2, '0')}`);
    const results = await Promise.all(names.map((name) => create('acme', { name })));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(201));
    const prefixes = results.map((r) => r.body.prefix as string);
    expect(new Set(prefixes).size).toBe(50);
    for (const p of prefixes) {
      expect(p).toMatch(/^[a-z0-9][a-z0-9-]{0,62}$/);
      expect(p.startsWith('acme-xxxx')).toBe(true);
    }
    const rows = await t.database.db('volume_prefixes').whereIn('prefix', prefixes).count<{ count: bigint }[]>('* as count');
    expect(Number(rows[0]!.count)).toBe(50);
  });

  it('concurrent identical creates yield one volume', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => create('acme', { name: 'race' })));
    const ids = new Set(results.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
  });

  it('cross-tenant collisions are resolved too: (a, b-c) and (a-b, c) never share a prefix', async () => {
    await buildTenant(t.http, admin, { id: 'acme-b', displayName: 'x', email: 'x@example.com' });
    const one = await create('acme', { name: 'b-c' });
    const two = await create('acme-b', { name: 'c' });
    expect(one.body.prefix).toBe('acme-b-c');
    expect(two.body.prefix).not.toBe('acme-b-c');
    expect(two.body.prefix).toMatch(/^acme-b-c-[a-z0-9]{5}$/);
  });

  it('a deleted volume keeps its prefix retired: recreating the name gets a new prefix', async () => {
    const v = (await create('acme', { name: 'temp' })).body;
    const engineerDelete = await request(t.http)
      .delete(`/v1/volumes/${v.id}`)
      .set('authorization', `Bearer ${t.token('engineer', 'bob', ['acme'])}`);
    expect(engineerDelete.status).toBe(403);
    const del = await request(t.http).delete(`/v1/volumes/${v.id}`).set('authorization', admin);
    expect(del.status).toBe(200);
    expect(del.body.state).toBe('deleting');
    const retired = await t.database.db('volume_prefixes').where({ prefix: v.prefix }).first();
    expect(retired.retired_at).toBeInstanceOf(Date);
    const again = await create('acme', { name: 'temp' });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(v.id);
    expect(again.body.prefix).not.toBe(v.prefix);
    const audit = await request(t.http).get(`/v1/audit?entityId=${v.id}&action=volume.deleted`).set('authorization', admin);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0].before.state).toBe('active');
    expect(audit.body.items[0].after.state).toBe('deleting');
  });

  it('lists with filters and cursor pagination; engineers see only their tenants', async () => {
    await create('other', { name: 'o1' }).expect(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: import('supertest').Response = await request(t.http)
        .get('/v1/volumes')
        .query({ tenantId: 'acme', limit: 7, ...(cursor ? { cursor } : {}) })
        .set('authorization', admin);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(7);
      seen.push(
        ...res.body.items.map((v: { id: string; tenantId: string }) => {
          expect(v.tenantId).toBe('acme');
          return v.id;
        }),
      );
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    const total = await t.database.db('volumes').where({ tenant_id: 'acme' }).count<{ count: bigint }[]>('* as count');
    expect(seen.length).toBe(Number(total[0]!.count));
    expect([...seen].sort()).toEqual(seen);

    const deleting = await request(t.http).get('/v1/volumes?state=deleting').set('authorization', admin);
    expect(deleting.body.items.every((v: { state: string }) => v.state === 'deleting')).toBe(true);
    expect(deleting.body.items.length).toBeGreaterThan(0);

    const eng = `Bearer ${t.token('engineer', 'olga', ['other'])}`;
    const mine = await request(t.http).get('/v1/volumes').set('authorization', eng);
    expect(mine.body.items.map((v: { name: string }) => v.name)).toEqual(['o1']);
    const foreign = await request(t.http).get('/v1/volumes?tenantId=acme').set('authorization', eng);
    expect(foreign.body.items).toEqual([]);
    const acmeVolume = seen[0]!;
    const hidden = await request(t.http).get(`/v1/volumes/${acmeVolume}`).set('authorization', eng);
    expect(hidden.status).toBe(404);
    expect(hidden.body.code).toBe('volume_not_found');

    const bad = await request(t.http).get('/v1/volumes?limit=501').set('authorization', admin);
    expect(bad.status).toBe(400);
    const badCursor = await request(t.http).get('/v1/volumes?cursor=zzz').set('authorization', admin);
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.code).toBe('invalid_cursor');
  });

  it('creating in an unknown tenant is a 404 and writes nothing', async () => {
    const before = await t.database.db('volume_prefixes').count<{ count: bigint }[]>('* as count');
    const res = await create('ghost', { name: 'x' });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('tenant_not_found');
    const after = await t.database.db('volume_prefixes').count<{ count: bigint }[]>('* as count');
    expect(after[0]!.count).toBe(before[0]!.count);
  });
});
