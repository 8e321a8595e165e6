/**
 * Purging deleted volumes on the embedded engine and on Redis: only a deleted volume, only with
 * its name as confirmation, every metadata key of it gone and nothing of its neighbours, audited,
 * and safe to repeat.
 */
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { engineAvailable, startEngine, type EngineUnderTest } from '../support/engines.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const engines = (['local', 'redis'] as const).map((kind) => ({ kind, available: engineAvailable(kind) }));

describe.each(engines)('purge on $kind', ({ kind, available }) => {
  if (!available) return void it.skip('needs its servers');
  let t: TestApp;
  let eng: EngineUnderTest;
  let admin: string;
  beforeAll(async () => {
    eng = await startEngine(kind);
    t = await createTestApp(eng.env);
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme', displayName: 'Acme', email: 'a@example.com' });
  });
  afterAll(async () => {
    await t?.close();
    await eng?.stop();
  });

  async function filled(name: string) {
    const res = await request(t.http).post('/v1/tenants/acme/volumes').set('authorization', admin).send({ name });
    const h = eng.handle(res.body.id, res.body.metaUrl);
    const d = await h.fx.mkdir(ROOT_INODE, 'data');
    for (let i = 0; i < 20; i++) await h.fx.file(d, `f${i}`, 100_000);
    await h.fx.finish();
    return { ...h, body: res.body };
  }
  const purge = (id: string, confirm: string) => request(t.http).post(`/v1/volumes/${id}/purge`).set('authorization', admin).send({ confirm });

  it('removes every key of a deleted volume and nothing of its neighbour', async () => {
    const a = await filled('a');
    const ab = await filled('a-b'); // prefix "acme-a-b" starts with "acme-a": must survive
    expect((await purge(a.id, 'a')).body.code).toBe('volume_state_conflict'); // not deleted yet
    await request(t.http).delete(`/v1/volumes/${a.id}`).set('authorization', admin).expect(200);
    const wrong = await purge(a.id, 'a-b');
    expect(wrong.status).toBe(400);
    const ok = await purge(a.id, 'a');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ state: 'purged' });
    expect(ok.body.stateDetail).toMatch(/purged: \d+ metadata keys/);
    await expect(a.capacity()).rejects.toThrow(); // the setting is gone with everything else
    expect(await ab.capacity()).toBe(0n); // the neighbour is intact
    const u = await request(t.http).get(`/v1/volumes/${ab.id}/usage`).set('authorization', admin);
    expect(u.body.usedInodes).toBe(21);
    expect((await purge(a.id, 'a')).body.state).toBe('purged'); // again: a no-op
    const audit = await request(t.http).get(`/v1/audit?entityId=${a.id}&action=volume.purged`).set('authorization', admin);
    expect(audit.body.items).toHaveLength(1);
    const engineer = `Bearer ${t.token('engineer', 'eve', ['acme'])}`;
    expect((await request(t.http).post(`/v1/volumes/${ab.id}/purge`).set('authorization', engineer).send({ confirm: 'a-b' })).status).toBe(403);
  });
});
