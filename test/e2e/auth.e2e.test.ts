import jwt from 'jsonwebtoken';
import { request } from '../support/api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, testSecret, type TestApp } from '../support/test-app.js';

describe.skipIf(!pgAvailable())('authentication and authorisation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await request(t.http)
      .post('/v1/tenants')
      .set('authorization', `Bearer ${t.token('admin')}`)
      .send({ id: 'team-a', displayName: 'A', email: 'a@example.com' })
      .expect(201);
  });
  afterAll(() => t?.close());

  const get = (auth?: string) => {
    const r = request(t.http).get('/v1/tenants/team-a');
    return auth === undefined ? r : r.set('authorization', auth);
  };
  const sign = (payload: object, opts: jwt.SignOptions = {}, secret = testSecret) => jwt.sign(payload, secret, { algorithm: 'HS256', issuer: 'headroom', expiresIn: 60, ...opts });

  it.each([
    ['missing header', undefined, /missing Authorization/],
    ['not a bearer token', 'Basic abc', /Bearer/],
    ['garbage token', 'Bearer not.a.jwt', /invalid token/],
    ['expired token', `Bearer ${jwt.sign({ role: 'admin', sub: 'x', exp: Math.floor(Date.now() / 1000) - 60, iss: 'headroom' }, testSecret)}`, /expired/],
    ['wrong secret', `Bearer ${sign({ role: 'admin' }, { subject: 'x' }, 'another-secret-another-secret-00000')}`, /invalid token/],
    ['alg none', `Bearer ${jwt.sign({ role: 'admin', sub: 'x', iss: 'headroom', exp: Math.floor(Date.now() / 1000) + 60 }, '', { algorithm: 'none' })}`, /invalid token/],
    ['unknown role', `Bearer ${sign({ role: 'root' }, { subject: 'x' })}`, /unknown role/],
    ['no subject', `Bearer ${sign({ role: 'admin' })}`, /subject/],
    ['no expiry', `Bearer ${jwt.sign({ role: 'admin', sub: 'x', iss: 'headroom' }, testSecret)}`, /expiry/],
    ['wrong issuer', `Bearer ${sign({ role: 'admin' }, { subject: 'x', issuer: 'evil' })}`, /invalid token/],
  ])('401 for %s', async (_name, header, detail) => {
    const res = await get(header);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthenticated');
    expect(res.body.detail).toMatch(detail);
  });

  it('a forged HS256 token signed with a different secret never reads data', async () => {
    const forged = sign({ role: 'admin' }, { subject: 'mallory' }, 'x'.repeat(40));
    expect((await get(`Bearer ${forged}`)).status).toBe(401);
  });

  it('403 for a valid token with the wrong role', async () => {
    const res = await request(t.http)
      .post('/v1/tenants')
      .set('authorization', `Bearer ${t.token('engineer', 'bob', ['team-a'])}`)
      .send({ id: 'team-b', displayName: 'B', email: 'b@example.com' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
    const audit = await request(t.http)
      .get('/v1/audit')
      .set('authorization', `Bearer ${t.token('platform')}`);
    expect(audit.status).toBe(403);
  });

  it('an engineer sees their own tenant and gets 404 for another, as if it did not exist', async () => {
    const own = await get(`Bearer ${t.token('engineer', 'bob', ['team-a'])}`);
    expect(own.status).toBe(200);
    const other = await get(`Bearer ${t.token('engineer', 'eve', ['team-z'])}`);
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('tenant_not_found');
    const missing = await request(t.http)
      .get('/v1/tenants/no-such')
      .set('authorization', `Bearer ${t.token('admin')}`);
    expect(missing.body).toMatchObject({ status: 404, code: 'tenant_not_found' });
    // Same answer shape for "exists but not yours" and "does not exist".
    expect(Object.keys(other.body).sort()).toEqual(Object.keys(missing.body).sort());
  });

  it('an engineer lists only their tenants', async () => {
    const res = await request(t.http)
      .get('/v1/tenants')
      .set('authorization', `Bearer ${t.token('engineer', 'eve', ['team-z'])}`);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
  });
});
