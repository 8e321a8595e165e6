import { execFileSync, spawnSync } from 'node:child_process';
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
    ['wrong issuer', `Bearer ${sign({ role: 'admin' }, { subject: 'x', issuer: 'evil' })}`, /invalid token/],
    ['a crit header', `Bearer ${sign({ role: 'admin' }, { subject: 'x', header: { alg: 'HS256', crit: ['b64'], b64: false } as jwt.JwtHeader })}`, /crit/],
    ['an empty crit header', `Bearer ${sign({ role: 'admin' }, { subject: 'x', header: { alg: 'HS256', crit: [] } as jwt.JwtHeader })}`, /crit/],
  ])('401 for %s', async (_name, header, detail) => {
    const res = await get(header);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthenticated');
    expect(res.body.detail).toMatch(detail);
  });

  describe('token lifetime (JWT_MAX_LIFETIME_SECONDS, default 31 days)', () => {
    const DAY = 86_400;
    const now = () => Math.floor(Date.now() / 1000);
    const raw = (claims: object) => `Bearer ${jwt.sign({ role: 'admin', sub: 'x', iss: 'headroom', ...claims }, testSecret)}`;

    it.each([
      ['no exp', raw({}), /no expiry/],
      ['a 32-day lifetime', raw({ iat: now(), exp: now() + 32 * DAY }), /exceeds the maximum of 2678400 s/],
      ['a year-long lifetime issued a year ago', raw({ iat: now() - 365 * DAY, exp: now() + 60 }), /exceeds/],
      ['no iat and 40 days left', `Bearer ${jwt.sign({ role: 'admin', sub: 'x', iss: 'headroom', exp: now() + 40 * DAY }, testSecret, { noTimestamp: true })}`, /exceeds/],
      ['an iat in the future', raw({ iat: now() + 365 * DAY, exp: now() + 365 * DAY + 60 }), /exceeds/],
    ])('401 token_lifetime_exceeded for %s', async (_name, header, detail) => {
      const res = await get(header);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('token_lifetime_exceeded');
      expect(res.body.detail).toMatch(detail);
    });

    it('accepts a lifetime of exactly the maximum, and the default of npm run token', async () => {
      expect((await get(raw({ iat: now(), exp: now() + 31 * DAY }))).status).toBe(200);
      expect((await get(`Bearer ${sign({ role: 'admin' }, { subject: 'x', expiresIn: 86_400 })}`)).status).toBe(200);
    });

    it('follows the configured maximum', async () => {
      const short = await createTestApp({ JWT_MAX_LIFETIME_SECONDS: '3600' });
      try {
        const at = (h: string) => request(short.http).get('/v1/tenants').set('authorization', h);
        expect((await at(raw({ iat: now(), exp: now() + 3600 }))).status).toBe(200);
        const long = await at(raw({ iat: now(), exp: now() + 3601 }));
        expect(long.status).toBe(401);
        expect(long.body).toMatchObject({ code: 'token_lifetime_exceeded', detail: expect.stringMatching(/3600 s/) });
      } finally {
        await short.close();
      }
    });
  });

  it('npm run token mints a token the server accepts, and refuses a --ttl above the maximum', async () => {
    const env = { ...process.env, JWT_SECRET: testSecret, DATA_DIR: t.dataDir, LOG_LEVEL: 'silent' };
    const minted = execFileSync('npx', ['tsx', 'scripts/token.ts', '--role', 'admin', '--sub', 'cli'], { env, encoding: 'utf8' }).trim();
    expect((await get(`Bearer ${minted}`)).status).toBe(200);
    const tooLong = spawnSync('npx', ['tsx', 'scripts/token.ts', '--role', 'admin', '--sub', 'cli', '--ttl', String(32 * 86_400)], { env, encoding: 'utf8' });
    expect(tooLong.status).toBe(2);
    expect(tooLong.stderr).toMatch(/JWT_MAX_LIFETIME_SECONDS/);
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
