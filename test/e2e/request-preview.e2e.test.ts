/**
 * A quota request previewed before it is filed: the same checks and the same rules as filing,
 * and nothing written. The web form shows this verdict before the engineer sends the request.
 */
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const MB = 1_000_000;

describe.skipIf(!pgAvailable())('quota request preview', () => {
  let t: TestApp;
  let admin: string;
  let eve: string;
  let volumeId: string;
  let ruleId: string;

  beforeAll(async () => {
    t = await createTestApp();
    admin = `Bearer ${t.token('admin', 'root')}`;
    eve = `Bearer ${t.token('engineer', 'eve', ['acme'])}`;
    await buildTenant(t.http, admin, { id: 'acme', displayName: 'Acme', email: 'acme@example.com' });
    await buildTenant(t.http, admin, { id: 'other', displayName: 'Other', email: 'o@example.com' });
    volumeId = (await buildVolume(t.http, admin, 'acme', { name: 'data', quota: { hardBytes: 100 * MB } })).id;
    const rule = await request(t.http)
      .post('/v1/quota-rules')
      .set('authorization', admin)
      .send({ tier: 'standard', kind: 'percent_increase', params: { maxPercent: 20, cooldownDays: 30 } });
    ruleId = rule.body.id;
  });
  afterAll(() => t?.close());

  const preview = (body: object, auth = eve) => request(t.http).post(`/v1/volumes/${volumeId}/quota-requests/preview`).set('authorization', auth).send(body);
  const count = async () => Number((await t.database.db('quota_requests').count({ n: '*' }))[0]!.n);

  it('says which rule would grant it, or that an admin decides, and writes nothing', async () => {
    const audits = Number((await t.database.db('audit_events').count({ n: '*' }))[0]!.n);
    const small = await preview({ hardBytes: 110 * MB, reason: 'a little more' });
    expect(small.status).toBe(200);
    expect(small.body).toEqual({ wouldApprove: true, ruleId, explanation: expect.stringContaining(ruleId) });
    const big = await preview({ hardBytes: 500 * MB, reason: 'a lot more' });
    expect(big.body).toMatchObject({ wouldApprove: false, ruleId: null });
    expect(await count()).toBe(0);
    expect(Number((await t.database.db('audit_events').count({ n: '*' }))[0]!.n)).toBe(audits);
    // Filing gives the verdict the preview gave.
    const filed = await request(t.http)
      .post(`/v1/volumes/${volumeId}/quota-requests`)
      .set('authorization', eve)
      .send({ hardBytes: 110 * MB, reason: 'a little more' });
    expect([filed.body.state, filed.body.ruleId]).toEqual(['approved', ruleId]);
    // Now the cooldown of that rule applies: the preview knows it.
    expect((await preview({ hardBytes: 120 * MB, reason: 'again' })).body).toMatchObject({ wouldApprove: false });
  });

  it('is refused exactly as filing would be', async () => {
    expect((await preview({ hardBytes: 50 * MB, reason: 'less' })).body.code).toBe('not_an_increase');
    expect((await preview({ reason: 'nothing asked' })).status).toBe(400);
    expect((await preview({ hardBytes: 500 * MB, reason: 'not mine' }, `Bearer ${t.token('engineer', 'mallory', ['other'])}`)).status).toBe(404);
    expect((await preview({ hardBytes: 500 * MB, reason: 'platform' }, `Bearer ${t.token('platform', 'ci')}`)).status).toBe(403);
    await request(t.http)
      .post(`/v1/volumes/${volumeId}/quota-requests`)
      .set('authorization', eve)
      .send({ hardBytes: 900 * MB, reason: 'waits for an admin' });
    expect((await preview({ hardBytes: 950 * MB, reason: 'another' })).body.code).toBe('request_pending');
  });
});
