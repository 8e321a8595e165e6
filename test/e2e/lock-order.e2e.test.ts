/**
 * Row locks are taken so that no two decisions can deadlock. A quota request holds its volume's
 * row while the enforcement decision of a freeze holds the state row and inserts transitions and
 * notices whose foreign keys need a share lock on that same volume row: with FOR UPDATE on the
 * volume the two waited on each other (PostgreSQL aborted one: a 500, found by `npm run soak`).
 * Locks are FOR NO KEY UPDATE, which foreign-key checks do not wait on.
 */
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

describe.skipIf(!pgAvailable())('lock order', () => {
  let t: TestApp;
  let admin: string;
  let eve: string;
  let volumeId: string;

  beforeAll(async () => {
    t = await createTestApp({ QUOTA_MAX_HARD_BYTES: String(1e15) });
    admin = `Bearer ${t.token('admin', 'root')}`;
    eve = `Bearer ${t.token('engineer', 'eve', ['acme'])}`;
    await buildTenant(t.http, admin, { id: 'acme', displayName: 'Acme', email: 'acme@example.com' });
    const v = await request(t.http)
      .post('/v1/tenants/acme/volumes')
      .set('authorization', admin)
      .send({ name: 'data', quota: { hardBytes: 1e9 } });
    volumeId = v.body.id;
    // Every request is granted at once, so each one changes the quota and decides enforcement.
    const rule = await request(t.http)
      .post('/v1/quota-rules')
      .set('authorization', admin)
      .send({ tier: 'standard', kind: 'percent_increase', params: { maxPercent: 1000, cooldownDays: 0 } });
    expect(rule.status).toBe(201);
  });
  afterAll(() => t?.close());

  it('quota grants racing freezes, unfreezes and passes on one volume: never a 5xx', async () => {
    const statuses: number[] = [];
    for (let round = 0; round < 15; round++) {
      const calls = [
        request(t.http)
          .post(`/v1/volumes/${volumeId}/quota-requests`)
          .set('authorization', eve)
          .send({ hardBytes: 1e9 * (round + 2), reason: 'more room' }),
        request(t.http).post(`/v1/volumes/${volumeId}/freeze`).set('authorization', admin).send({ reason: 'race freeze' }),
        request(t.http).post(`/v1/volumes/${volumeId}/unfreeze`).set('authorization', admin).send({ reason: 'race unfreeze' }),
        request(t.http)
          .post(`/v1/volumes/${volumeId}/quota-requests`)
          .set('authorization', eve)
          .send({ hardBytes: 1e9 * (round + 2) + 1, reason: 'more room again' }),
      ];
      const answers = await Promise.all([...calls, t.services.enforcement.countersPass().then(() => ({ status: 200 }))]);
      statuses.push(...answers.map((a) => a.status));
    }
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    // Every answer is one a caller can act on: granted, frozen/unfrozen, or a clear conflict.
    expect(new Set(statuses.filter((s) => ![200, 201, 409, 422].includes(s)))).toEqual(new Set());
  }, 120_000);
});
