/**
 * The request validator on a small spec of its own: which template a path matches, how query
 * strings are read and coerced, `$ref`s, formats, bodies, and the 404/405/415/400 answers.
 * (The e2e suites, the fuzz suite among them, run it against the real contract.)
 */
import express, { type ErrorRequestHandler } from 'express';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { ApiError, toProblem } from '../../../server/lib/errors.js';
import { loadSpec } from '../../../server/http/openapi.js';
import { requestValidator } from '../../../server/http/request-validator.js';
import { RouteTable } from '../../../server/http/route-table.js';

const ok = { '200': { description: 'ok' } };
const spec = {
  openapi: '3.1.0',
  info: { title: 't', version: '1' },
  paths: {
    '/items': {
      get: {
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 50, default: 10 } },
          { name: 'ratio', in: 'query', schema: { type: 'number' } },
          { name: 'flag', in: 'query', schema: { type: 'boolean' } },
          { name: 'since', in: 'query', schema: { type: 'string', format: 'date-time' } },
          { name: 'ids', in: 'query', explode: false, schema: { type: 'array', items: { type: 'string' } } },
          { name: 'tag', in: 'query', schema: { type: 'array', items: { $ref: '#/components/schemas/Tag' } } },
          { name: 'state', in: 'query', schema: { $ref: '#/components/schemas/State' } },
          { name: 'filter', in: 'query', schema: { type: 'object', additionalProperties: false, properties: { a: { type: 'integer' } } } },
          { name: 'X-Trace', in: 'header', schema: { type: 'string', maxLength: 5 } },
        ],
        responses: ok,
      },
      post: { requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Item' } } } }, responses: ok },
    },
    // Only this operation takes `mode`: a request matched to /items/{itemId} would refuse it.
    '/items/special': { get: { parameters: [{ name: 'mode', in: 'query', schema: { type: 'string', enum: ['a', 'b'] } }], responses: ok } },
    '/items/{itemId}': { parameters: [{ $ref: '#/components/parameters/ItemId' }], get: { responses: ok }, delete: { responses: ok } },
    '/items/{itemId}/parts/{partId}': { parameters: [{ $ref: '#/components/parameters/ItemId' }, { name: 'partId', in: 'path', required: true, schema: { type: 'string' } }], get: { responses: ok } },
    '/items/special/parts/latest': { get: { responses: ok } },
    '/hooks': {
      post: {
        requestBody: {
          required: false,
          content: {
            'application/json': {
              schema: { type: 'object', additionalProperties: false, properties: { url: { type: 'string', format: 'uri' }, email: { type: 'string', format: 'email' } } },
            },
          },
        },
        responses: ok,
      },
    },
  },
  components: {
    parameters: { ItemId: { name: 'itemId', in: 'path', required: true, schema: { $ref: '#/components/schemas/ItemIdValue' } } },
    schemas: {
      ItemIdValue: { type: 'string', pattern: '^[a-z0-9_]{1,10}$' },
      State: { type: 'string', enum: ['open', 'closed'] },
      Tag: { type: 'string', maxLength: 3 },
      Name: { type: 'string', minLength: 1 },
      Item: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: { name: { $ref: '#/components/schemas/Name' }, count: { type: 'integer', default: 1 }, due: { type: 'string', format: 'date-time' } },
      },
    },
  },
};

/** An app that echoes what a route sees: the template it reached, params, query, body. */
function app() {
  const a = express();
  // Like the app's own parser (json-body.ts), an empty body is no body, not `{}`.
  const json = express.json();
  a.use((req, res, next) => (req.headers['content-length'] === '0' ? next() : json(req, res, next)));
  a.use(requestValidator(spec, { ignorePaths: /^\/docs(\/|$)/ }));
  const echo = (route: string) => (req: express.Request, res: express.Response) => {
    res.json({ route, params: req.params, query: req.query, body: req.body as unknown });
  };
  a.get('/items', echo('list'));
  a.post('/items', echo('create'));
  a.get('/items/special', echo('special'));
  a.get('/items/special/parts/latest', echo('latest'));
  a.get('/items/:itemId', echo('item'));
  a.delete('/items/:itemId', echo('delete'));
  a.get('/items/:itemId/parts/:partId', echo('part'));
  a.post('/hooks', echo('hook'));
  a.get('/docs/x', echo('docs'));
  const problems: ErrorRequestHandler = (err, _req, res, _next) => {
    const e = err instanceof ApiError ? err : new ApiError(500, 'internal_error', 'x', String(err));
    res.status(e.status).json(toProblem(e));
  };
  a.use(problems);
  return supertest(a);
}

const fieldPaths = (body: { errors?: { path: string }[] }) => (body.errors ?? []).map((e) => e.path);

describe('route matching', () => {
  it('prefers a static segment, and falls back to a parameter when the static branch leads nowhere', async () => {
    const special = await app().get('/items/special?mode=a');
    expect(special.status).toBe(200);
    expect(special.body).toMatchObject({ route: 'special', query: { mode: 'a' } });
    expect((await app().get('/items/it_1?mode=a')).body.errors).toEqual([{ path: '/query/mode', message: "Unknown query parameter 'mode'" }]);
    expect((await app().get('/items/special/parts/latest')).body.route).toBe('latest');
    const part = await app().get('/items/special/parts/p1');
    expect(part.body).toMatchObject({ route: 'part', params: { itemId: 'special', partId: 'p1' } });
    expect((await app().get('/items/it_1')).body).toMatchObject({ route: 'item', params: { itemId: 'it_1' } });
  });

  it('matches as express does: case-insensitive, one optional trailing slash, decoded parameters', async () => {
    expect((await app().get('/ITEMS/Special/')).body.route).toBe('special');
    expect((await app().get('/items/it_1%5F2')).body.params).toEqual({ itemId: 'it_1_2' });
    expect((await app().get('/items/it_1//')).status).toBe(404);
  });

  it('404 for a path the spec does not have, 405 with Allow for a method it does not declare', async () => {
    const missing = await app().get('/nothing');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'not_found', detail: 'no route GET /nothing' });
    expect((await app().get('/items/it_1/extra')).status).toBe(404);
    const wrong = await app().put('/items/it_1').send({});
    expect(wrong.status).toBe(405);
    expect(wrong.body.code).toBe('method_not_allowed');
    expect(wrong.headers.allow).toBe('GET, DELETE');
    expect((await app().patch('/items')).headers.allow).toBe('GET, POST');
  });

  it('passes ignored paths through untouched', async () => {
    expect((await app().get('/docs/x?anything=1')).body.route).toBe('docs');
  });

  it('takes the real contract: static paths before templated ones', () => {
    const table = new RouteTable(Object.keys(loadSpec().paths as object).map((template) => ({ template, value: template })));
    const at = (path: string) => table.match(path)?.entry.template;
    expect(at('/v1/volumes/vol_1/directory-quotas/discover')).toBe('/v1/volumes/{volumeId}/directory-quotas/discover');
    expect(at('/v1/volumes/vol_1/directory-quotas/dq_1')).toBe('/v1/volumes/{volumeId}/directory-quotas/{quotaId}');
    expect(at('/v1/volumes/vol_1/usage/history')).toBe('/v1/volumes/{volumeId}/usage/history');
    expect(table.match('/v1/jobs/walks/runs/run_1')?.rawParams).toEqual({ name: 'walks', runId: 'run_1' });
    expect(at('/v1/volumes/vol_1/nothing')).toBeUndefined();
  });
});

describe('path parameters', () => {
  it('validates them through $refs (a components parameter whose schema is a $ref)', async () => {
    const res = await app().get('/items/NOT-OK');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(fieldPaths(res.body)).toEqual(['/params/itemId']);
    expect(res.body.detail).toMatch(/^params\.itemId must match pattern/);
  });

  it('400 for a parameter that is not valid percent-encoding', async () => {
    const res = await app().get('/items/%E0%A4%A');
    expect(res.status).toBe(400);
    expect(fieldPaths(res.body)).toEqual(['/params/itemId']);
  });
});

describe('query parameters', () => {
  it('are coerced per their schema, with defaults filled in', async () => {
    expect((await app().get('/items')).body.query).toEqual({ limit: 10 });
    const res = await app().get('/items?limit=5&ratio=0.5&flag=true&state=open');
    expect(res.body.query).toEqual({ limit: 5, ratio: 0.5, flag: true, state: 'open' });
  });

  it('refuse wrong types, out-of-range and non-finite numbers', async () => {
    for (const q of ['limit=abc', 'limit=0', 'limit=51', 'limit=2.5', 'limit=Infinity', 'limit=1e400', 'ratio=Infinity', 'flag=maybe', 'limit=1&limit=2']) {
      const res = await app().get(`/items?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.code, q).toBe('validation_failed');
      expect(fieldPaths(res.body)[0], q).toBe(`/query/${q.split('=')[0]}`);
    }
  });

  it('names the allowed values of an enum', async () => {
    const res = await app().get('/items?state=ajar');
    expect(res.body.errors).toEqual([{ path: '/query/state', message: 'must be equal to one of the allowed values: open, closed' }]);
  });

  it('refuse unknown and empty parameters, bracketed names included', async () => {
    const unknown = await app().get('/items?colour=red');
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ path: '/query/colour', message: "Unknown query parameter 'colour'" }]);
    expect((await app().get('/items?__proto__=1')).status).toBe(400);
    expect((await app().get('/items?__proto__[x]=1')).status).toBe(400);
    expect(fieldPaths((await app().get('/items?limit[]=5')).body)).toEqual(['/query/limit']);
    const empty = await app().get('/items?limit=');
    expect(empty.body.errors).toEqual([{ path: '/query/limit', message: "Empty value found for query parameter 'limit'" }]);
  });

  it('must percent-encode reserved characters', async () => {
    expect((await app().get('/items?since=2026-01-01T00:00:00Z')).status).toBe(400);
    const res = await app().get(`/items?since=${encodeURIComponent('2026-01-01T00:00:00Z')}`);
    expect(res.status).toBe(200);
    expect(res.body.query.since).toBe('2026-01-01T00:00:00Z');
  });

  it('read arrays exploded (repeated) or split on commas, items checked through $refs', async () => {
    expect((await app().get('/items?ids=a,b')).body.query.ids).toEqual(['a', 'b']);
    expect((await app().get('/items?tag=x')).body.query.tag).toEqual(['x']);
    expect((await app().get('/items?tag=x&tag=y')).body.query.tag).toEqual(['x', 'y']);
    const long = await app().get('/items?tag=x&tag=long');
    expect(fieldPaths(long.body)).toEqual(['/query/tag/1']);
  });

  it('read an object as a JSON value', async () => {
    expect((await app().get(`/items?filter=${encodeURIComponent('{"a":1}')}`)).body.query.filter).toEqual({ a: 1 });
    expect(fieldPaths((await app().get(`/items?filter=${encodeURIComponent('{"b":1}')}`)).body)).toEqual(['/query/filter/b']);
    expect(fieldPaths((await app().get('/items?filter=x')).body)).toEqual(['/query/filter']);
  });

  it('validate formats (date-time)', async () => {
    expect(fieldPaths((await app().get('/items?since=yesterday')).body)).toEqual(['/query/since']);
  });
});

describe('headers', () => {
  it('are validated against their parameters (names case-insensitive)', async () => {
    expect((await app().get('/items').set('x-trace', 'abc')).status).toBe(200);
    const res = await app().get('/items').set('X-Trace', 'toolong');
    expect(fieldPaths(res.body)).toEqual(['/headers/x-trace']);
  });
});

describe('bodies', () => {
  it('are validated through nested $refs, never coerced, with defaults filled in', async () => {
    expect((await app().post('/items').send({ name: 'x' })).body.body).toEqual({ name: 'x', count: 1 });
    const cases: [unknown, string][] = [
      [{ name: '' }, '/body/name'],
      [{ name: 'x', count: '2' }, '/body/count'],
      [{ name: 'x', colour: 'red' }, '/body/colour'],
      [{}, '/body/name'],
      [{ name: 'x', due: 'soon' }, '/body/due'],
    ];
    for (const [body, path] of cases) {
      const res = await app()
        .post('/items')
        .send(body as object);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(fieldPaths(res.body), JSON.stringify(body)).toEqual([path]);
    }
    expect((await app().post('/items').send({ name: 'x', colour: 'red' })).body.detail).toBe('body.colour must NOT have additional properties');
  });

  it('report a parameter problem and a body problem together', async () => {
    const res = await app().post('/items?x=1').send({ name: 1 });
    expect(fieldPaths(res.body)).toEqual(['/query/x']);
    const both = await app().post('/items').set('content-type', 'application/json').send('{"name":1}');
    expect(fieldPaths(both.body)).toEqual(['/body/name']);
  });

  it('validate formats (uri, email)', async () => {
    expect((await app().post('/hooks').send({ url: 'https://example.com/h', email: 'a@example.com' })).status).toBe(200);
    expect(fieldPaths((await app().post('/hooks').send({ url: 'not a uri' })).body)).toEqual(['/body/url']);
    expect(fieldPaths((await app().post('/hooks').send({ email: 'nobody' })).body)).toEqual(['/body/email']);
  });

  it('415 for another media type; a required body that is missing is a 400, an optional one may be left out', async () => {
    const plain = await app().post('/items').set('content-type', 'text/plain').send('name=x');
    expect(plain.status).toBe(415);
    expect(plain.body.code).toBe('unsupported_media_type');
    expect((await app().post('/hooks').set('content-type', 'text/plain')).status).toBe(415);
    expect((await app().post('/hooks')).status).toBe(200);
    const missing = await app().post('/items').set('content-type', 'application/json');
    expect(missing.status).toBe(400);
    expect(fieldPaths(missing.body)).toEqual(['/body']);
    const noType = await app().post('/items');
    expect(noType.status).toBe(415);
  });
});

describe('RouteTable', () => {
  it('matches segments mixing text and parameters, after static ones and before whole parameters', () => {
    const table = new RouteTable(['/f/{name}.json', '/f/{id}', '/f/latest.json'].map((template) => ({ template, value: template })));
    expect(table.match('/f/latest.json')?.entry.template).toBe('/f/latest.json');
    expect(table.match('/f/report.json')).toEqual({ entry: { template: '/f/{name}.json', value: '/f/{name}.json' }, rawParams: { name: 'report' } });
    expect(table.match('/f/report')).toEqual({ entry: { template: '/f/{id}', value: '/f/{id}' }, rawParams: { id: 'report' } });
    expect(table.match('/f/')).toBeUndefined();
    expect(table.match('f/x')).toBeUndefined();
  });
});
