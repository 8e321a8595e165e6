import { gzipSync } from 'node:zlib';
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** Every table a create could touch; bad input must leave all of them unchanged. */
const tables = ['tenants', 'volumes', 'volume_prefixes', 'audit_events', 'idempotency_keys'];

describe.skipIf(!pgAvailable())('bad input gets a clear problem+json and writes nothing', () => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await createTestApp();
    admin = `Bearer ${t.token('admin')}`;
    await buildTenant(t.http, admin, { id: 'acme', displayName: 'A', email: 'a@example.com' });
  });
  afterAll(() => t?.close());

  async function counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const table of tables) {
      const [row] = await t.database.db(table).count<{ count: bigint }[]>('* as count');
      out[table] = Number(row!.count);
    }
    return out;
  }

  const raw = (path: string, body: string, type = 'application/json') =>
    request(t.http).post(path).set('authorization', admin).set('content-type', type).set('Idempotency-Key', `k-${Math.random()}`).send(body);

  const huge = JSON.stringify({ name: 'big', pad: 'x'.repeat(1024 * 1024 + 10) });
  const cases: [string, string, string, number, string, RegExp][] = [
    ['malformed JSON', '/v1/tenants/acme/volumes', '{"name": "x",', 400, 'malformed_json', /JSON/],
    ['body over 1 MiB', '/v1/tenants/acme/volumes', huge, 413, 'payload_too_large', /1mb/],
    ['unknown field', '/v1/tenants/acme/volumes', '{"name":"x","colour":"red"}', 400, 'validation_failed', /colour/],
    ['unknown quota field', '/v1/tenants/acme/volumes', '{"name":"x","quota":{"hardBites":1}}', 400, 'validation_failed', /hardBites/],
    ['wrong type', '/v1/tenants/acme/volumes', '{"name":42}', 400, 'validation_failed', /name/],
    ['quota as string', '/v1/tenants/acme/volumes', '{"name":"x","quota":{"hardBytes":"10"}}', 400, 'validation_failed', /hardBytes/],
    ['negative quota', '/v1/tenants/acme/volumes', '{"name":"x","quota":{"hardBytes":-1}}', 400, 'validation_failed', /hardBytes/],
    ['fractional quota', '/v1/tenants/acme/volumes', '{"name":"x","quota":{"hardInodes":1.5}}', 400, 'validation_failed', /hardInodes/],
    ['quota above 2^53', '/v1/tenants/acme/volumes', '{"name":"x","quota":{"hardBytes":9007199254740993}}', 400, 'validation_failed', /hardBytes/],
    ['hard below soft bytes', '/v1/tenants/acme/volumes', '{"name":"x","quota":{"softBytes":10,"hardBytes":9}}', 400, 'quota_invalid', /hardBytes/],
    ['hard below soft inodes', '/v1/tenants/acme/volumes', '{"name":"x","quota":{"softInodes":10,"hardInodes":9}}', 400, 'quota_invalid', /hardInodes/],
    ['bad volume name', '/v1/tenants/acme/volumes', '{"name":"Has Spaces"}', 400, 'validation_failed', /name/],
    ['missing name', '/v1/tenants/acme/volumes', '{}', 400, 'validation_failed', /name/],
    ['unknown engine', '/v1/tenants/acme/volumes', '{"name":"x","engine":"mysql"}', 400, 'validation_failed', /engine/],
    ['bad tenant slug', '/v1/tenants', '{"id":"-bad","displayName":"x","email":"x@example.com"}', 400, 'validation_failed', /id/],
    ['tenant slug too long', '/v1/tenants', `{"id":"${'a'.repeat(32)}","displayName":"x","email":"x@example.com"}`, 400, 'validation_failed', /id/],
    ['bad email', '/v1/tenants', '{"id":"ok-id","displayName":"x","email":"not-an-email"}', 400, 'validation_failed', /email/],
    ['non-JSON content type', '/v1/tenants', 'id=x', 415, 'unsupported_media_type', /.+/],
    ['JSON array body', '/v1/tenants', '[]', 400, 'validation_failed', /.+/],
  ];

  it.each(cases)('%s', async (_name, path, body, status, code, detail) => {
    const before = await counts();
    const res = await raw(path, body, _name === 'non-JSON content type' ? 'application/x-www-form-urlencoded' : 'application/json');
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, code });
    expect(res.body.detail).toMatch(detail);
    expect(typeof res.body.title).toBe('string');
    // 4xx responses to an Idempotency-Key request are stored for replay only when the request
    // reached the handler; body-level rejections never do, so every table is unchanged.
    const after = await counts();
    if (code === 'quota_invalid') after.idempotency_keys = before.idempotency_keys!;
    expect(after).toEqual(before);
  });

  describe('found by the fuzz suite (test/e2e/fuzz.e2e.test.ts)', () => {
    // Bytes sent as they are: superagent would JSON-encode a Buffer sent with a JSON content type.
    const bytes = (method: 'get' | 'post', path: string, body: Buffer, headers: Record<string, string>) => {
      let r = request(t.http)[method](path).set('authorization', admin);
      for (const [k, v] of Object.entries(headers)) r = r.set(k, v);
      return r.serialize((b: unknown) => b as string).send(body);
    };

    it.each([
      ['a corrupt gzip body', gzipSync('{"id":"zz","displayName":"z","email":"z@example.com"}').subarray(0, 20), 'gzip'],
      ['bytes that are not gzip at all', Buffer.from('plain text'), 'gzip'],
      ['a corrupt deflate body', Buffer.from([0x78, 0x9c, 0xff, 0xff, 0x00]), 'deflate'],
    ])('400 unreadable_body for %s', async (_name, body, encoding) => {
      const before = await counts();
      const res = await bytes('post', '/v1/tenants', body, { 'content-type': 'application/json', 'content-encoding': encoding });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('unreadable_body');
      expect(await counts()).toEqual(before);
    });

    it('a well-formed gzip body is read', async () => {
      const res = await bytes('post', '/v1/tenants', gzipSync('{"id":"gz","displayName":"G","email":"g@example.com"}'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      expect(res.status).toBe(201);
    });

    it('400 nesting_too_deep for a body nested past 32 levels (100,000 used to overflow the stack: 500)', async () => {
      const res = await bytes('post', '/v1/tenants', Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)), { 'content-type': 'application/json' });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('nesting_too_deep');
    });

    it('415 for a body without a JSON content type, even where the body is optional (approve)', async () => {
      const res = await bytes('post', `/v1/quota-requests/qrq_${'0'.repeat(26)}/approve`, Buffer.from('{"hardBytes":1}'), {});
      expect(res.status).toBe(415);
      expect(res.body.code).toBe('unsupported_media_type');
      const plain = await bytes('post', '/v1/tenants', Buffer.from('{}'), { 'content-type': 'text/plain' });
      expect(plain.status).toBe(415);
    });

    it('400 for an empty body where one is required (an empty PATCH reached the service: 500)', async () => {
      const res = await bytes('post', '/v1/tenants', Buffer.alloc(0), { 'content-type': 'application/json' });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    });

    it('a route that takes no body never reads one (a corrupt or huge body on a GET is ignored)', async () => {
      const res = await bytes('get', '/v1/tenants', Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      expect(res.status).toBe(200);
    });

    it("400 invalid_cursor for another list's cursor on the audit log (it reached BigInt(): 500)", async () => {
      const page = await request(t.http).get('/v1/tenants?limit=1').set('authorization', admin);
      expect(page.body.nextCursor).toEqual(expect.any(String));
      for (const cursor of [page.body.nextCursor, Buffer.from('v1:99999999999999999999').toString('base64url')]) {
        const res = await request(t.http).get(`/v1/audit?cursor=${cursor}`).set('authorization', admin);
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('invalid_cursor');
      }
    });
  });

  it('tenant create is idempotent for the same body and 409 for a different one', async () => {
    const body = { id: 'same', displayName: 'S', email: 's@example.com' };
    expect((await request(t.http).post('/v1/tenants').set('authorization', admin).send(body)).status).toBe(201);
    const again = await request(t.http).post('/v1/tenants').set('authorization', admin).send(body);
    expect(again.status).toBe(200);
    const before = await counts();
    const diff = await request(t.http)
      .post('/v1/tenants')
      .set('authorization', admin)
      .send({ ...body, email: 'other@example.com' });
    expect(diff.status).toBe(409);
    expect(diff.body.code).toBe('tenant_exists');
    expect(await counts()).toEqual(before);
  });

  it('unknown query parameters and unknown routes are rejected', async () => {
    const q = await request(t.http).get('/v1/volumes?colour=red').set('authorization', admin);
    expect(q.status).toBe(400);
    expect(q.body.code).toBe('validation_failed');
    const r = await request(t.http).get('/v1/nothing-here').set('authorization', admin);
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('not_found');
    const m = await request(t.http).put('/v1/tenants').set('authorization', admin).send({});
    expect(m.status).toBe(405);
    expect(m.body.code).toBe('method_not_allowed');
  });

  it('numeric query parameters must be finite integers in range (found by the fuzz suite: Infinity reached SQL)', async () => {
    for (const q of ['runs=Infinity', 'runs=1e400', 'runs=2.5', 'runs=0', 'runs=51']) {
      const res = await request(t.http).get(`/v1/jobs?${q}`).set('authorization', admin);
      expect(res.status, q).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    expect((await request(t.http).get('/v1/jobs?runs=3').set('authorization', admin)).status).toBe(200);
    expect((await request(t.http).get('/v1/volumes?limit=Infinity').set('authorization', admin)).status).toBe(400);
  });
});
