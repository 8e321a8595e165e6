/**
 * Property-based fuzzing of the whole API, derived from `openapi/openapi.yaml`: for every path,
 * method and kind of caller (admin, platform, an engineer of the tenant, an engineer of another
 * tenant, no token, a bad token) it sends first valid requests built from the request schemas,
 * then hostile ones (wrong types, boundary numbers, huge and deeply nested values, control
 * characters, invalid UTF-8, duplicate and prototype keys, wrong or missing content types,
 * corrupt compressed bodies, bad ids, cursors and query values).
 *
 * Properties of every response: no 5xx; an error is problem+json with a string `code`; it matches
 * the spec (the shared client checks that); a caller without a valid token gets 401; and a 4xx to
 * a state-changing request leaves the row count of every table unchanged.
 *
 * Seeded and reproducible: a fixed seed by default, printed; `FUZZ_SEED=<n>` replays a run and
 * `FUZZ_SEED=random` explores a new one;
 * `FUZZ_REQUESTS` sets the number of generated requests (default 10,500). `FUZZ_SHRINK=1`
 * shrinks a failure to a smaller counterexample (slower: the server's state moves on meanwhile).
 */
import http from 'node:http';
import { gzipSync, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../../server/http/openapi.js';
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, testSecret, type TestApp } from '../support/test-app.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Schema {
  type?: string | string[];
  enum?: Json[];
  oneOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  $ref?: string;
}
interface Param {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}
interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  template: string;
  id: string;
  params: Param[];
  body?: { schema: Schema; required: boolean };
}

// ---- the spec, dereferenced -------------------------------------------------------------------

const spec = loadSpec() as { paths: Record<string, Record<string, unknown>> } & Record<string, unknown>;

/** Resolves every local `$ref` (the request schemas have no cycles). */
function deref<T>(node: T): T {
  if (Array.isArray(node)) return node.map(deref) as T;
  if (!node || typeof node !== 'object') return node;
  const ref = (node as { $ref?: string }).$ref;
  if (ref) {
    const target = ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], spec);
    return deref(target as T);
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, deref(v)])) as T;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const operations: Operation[] = Object.entries(spec.paths).flatMap(([template, item]) => {
  const shared = deref((item.parameters ?? []) as Param[]);
  return METHODS.filter((m) => item[m]).map((method) => {
    const op = deref(item[method]) as { operationId: string; parameters?: Param[]; requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> } };
    const bodySchema = op.requestBody?.content['application/json']?.schema;
    return {
      method,
      template,
      id: op.operationId,
      params: [...shared, ...(op.parameters ?? [])],
      body: bodySchema ? { schema: bodySchema, required: op.requestBody!.required ?? false } : undefined,
    };
  });
});

// ---- seeds and budget --------------------------------------------------------------------------

// A fixed seed by default, so a CI run is reproducible and a red one is a real regression;
// FUZZ_SEED=random (or any number) explores further, and a failure prints the seed to replay.
const baseSeed = process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261201;
const target = Number(process.env.FUZZ_REQUESTS ?? 10_500);

/** A stable per-(phase, operation, role) seed, so one failing property replays on its own. */
function seedFor(key: string): number {
  let h = 2166136261 ^ baseSeed;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return h | 0;
}

const roles = ['admin', 'platform', 'engineer', 'outsider', 'anonymous', 'badToken'] as const;
type Role = (typeof roles)[number];
/** Share of the requests each caller gets: the roles that reach handlers get more. */
const roleWeight: Record<Role, number> = { admin: 3, platform: 2, engineer: 2, outsider: 1.5, anonymous: 0.75, badToken: 0.75 };
const phaseShare = { valid: 0.3, mutated: 0.7 } as const;
function runsFor(phase: keyof typeof phaseShare, role: Role): number {
  return Math.max(2, Math.ceil((target * phaseShare[phase] * roleWeight[role]) / 10 / operations.length));
}

// ---- valid values from schemas -----------------------------------------------------------------

/** What the fixtures hold, by path parameter name; filled in beforeAll. */
const known: Record<string, string[]> = {};
const cursors: string[] = [];
const DAY = 86_400_000;

const RULE_PARAMS: Record<string, fc.Arbitrary<Json>> = {
  percent_increase: fc.record({ maxPercent: fc.integer({ min: 1, max: 1000 }), cooldownDays: fc.integer({ min: 0, max: 3650 }) }),
  temporary_grant: fc.record({ maxFactor: fc.integer({ min: 2, max: 100 }), maxDays: fc.integer({ min: 1, max: 365 }) }),
  tier_ceiling: fc.record({ maxHardBytes: fc.option(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { nil: null }), maxHardInodes: fc.integer({ min: 1, max: 1e9 }) }),
};

function integers(s: Schema): fc.Arbitrary<number> {
  const lo = s.minimum ?? -1_000_000;
  const hi = s.maximum ?? 1_000_000_000;
  // fc.integer is 32-bit; the edges themselves (up to 2^53-1) are drawn as constants.
  return fc.oneof({ weight: 4, arbitrary: fc.integer({ min: Math.max(lo, -(2 ** 31)), max: Math.min(hi, 2 ** 31 - 1) }) }, { weight: 1, arbitrary: fc.constantFrom(lo, hi) });
}

function strings(s: Schema, key?: string): fc.Arbitrary<string> {
  if (s.format === 'email') return fc.stringMatching(/^[a-z]{1,12}@example\.com$/);
  if (s.format === 'date-time') return fc.date({ min: new Date(Date.now() - 40 * DAY), max: new Date(Date.now() + 300 * DAY), noInvalidDate: true }).map((d) => d.toISOString());
  // Webhooks point at a closed local port: generated tenants must not make the suite talk to the world.
  if (s.format === 'uri') return fc.constantFrom('http://127.0.0.1:9/hook', 'https://127.0.0.1:9/h?x=1');
  if (key === 'metaUrl') return fc.constantFrom('etcd://127.0.0.1:9/x', 'redis://127.0.0.1:9/1', 'not a url at all', 'tikv://127.0.0.1:9/p');
  const max = Math.min(s.maxLength ?? 40, 60);
  if (s.pattern) return fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length <= (s.maxLength ?? Infinity));
  return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.max(max, s.minLength ?? 0) });
}

/** An arbitrary of values that satisfy `s` (mostly: cross-field rules are the server's to check). */
function valid(s: Schema, key?: string): fc.Arbitrary<Json> {
  if (s.oneOf) return fc.oneof(...s.oneOf.map((x) => valid(x, key)));
  if (s.enum) return fc.constantFrom(...s.enum);
  const types = Array.isArray(s.type) ? s.type : [s.type ?? 'object'];
  if (types.length > 1) return fc.oneof(...types.map((t) => valid({ ...s, type: t }, key)));
  switch (types[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return integers(s);
    case 'number':
      return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true, noDefaultInfinity: true });
    case 'string':
      return strings(s, key);
    case 'array':
      return fc.array(valid(s.items ?? {}), { maxLength: 3 });
    default: {
      if (!s.properties) return key === 'params' ? fc.oneof(...Object.values(RULE_PARAMS)) : fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 });
      const model = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, valid(v, k)]));
      return fc.record(model, { requiredKeys: s.required ?? [] }) as fc.Arbitrary<Json>;
    }
  }
}

// ---- hostile values ------------------------------------------------------------------------------

const nest = (depth: number, leaf: Json = 1): Json => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};
const protoKeys = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
/** `{"__proto__": …}` as JSON.parse makes it: an own property, not a prototype. */
const protoObject = JSON.parse('{"__proto__":{"role":"admin","isAdmin":true},"constructor":{"prototype":{"polluted":1}}}') as Json;

const hostile: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(
    null,
    true,
    false,
    0,
    -1,
    1,
    0.5,
    -0.5,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 53),
    2 ** 63,
    1e308,
    -1e308,
    5e-324,
    'NaN',
    'Infinity',
    '-Infinity',
    '1e999',
    '0x1F',
    ' 1',
    '-0',
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\u0007',
    '\u001b[31mred',
    '\u2028\u2029',
    '\ud800',
    '\udfff\ud800',
    '\uffff\ufffe',
    '🙂'.repeat(40),
    "' OR '1'='1' --",
    '../../../etc/passwd',
    '%00%2F%2e%2e',
    '<script>alert(1)</script>',
    '{{#x}}{{/y}}{{',
    '${jndi:ldap://x}',
    '2016-12-31T23:59:60Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999999+14:00',
    '2024-02-30T00:00:00Z',
    [],
    {},
    [1, 'a', null],
    { a: { b: { c: [] } } },
    protoObject,
  ),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(1_000, 20_000, 300_000).map((n) => 'x'.repeat(n)),
  // Deep, but not so deep that JSON.stringify in the test itself runs out of stack.
  fc.integer({ min: 50, max: 3_000 }).map((d) => nest(d)),
);

/** Every path into a JSON value ([] is the value itself). */
function pathsOf(v: Json, at: string[] = []): string[][] {
  const out = [at];
  if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) out.push(...pathsOf(c, [...at, k]));
  return out;
}
function setAt(v: Json, path: string[], value: Json): Json {
  if (!path.length) return value;
  const copy: Record<string, Json> = { ...(v as Record<string, Json>) };
  // Defined, not assigned: a `__proto__` step must create an own key, as JSON.parse would.
  Object.defineProperty(copy, path[0]!, { value: setAt(copy[path[0]!] ?? null, path.slice(1), value), enumerable: true, writable: true, configurable: true });
  return Array.isArray(v) ? Object.values(copy) : copy;
}

// ---- requests ---------------------------------------------------------------------------------

interface Plan {
  role: Role;
  method: Operation['method'];
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  note: string;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const text = (s: string) => Buffer.from(s, 'utf8');
const jsonBody = (v: Json, note: string) => ({ headers: { ...JSON_TYPE }, body: text(JSON.stringify(v)), note });
type BodyPlan = { headers: Record<string, string>; body?: Buffer; note: string };

/** Bodies that break the transport rather than the schema: bytes, types, encodings, size. */
function rawVariants(valid: fc.Arbitrary<Json>, stringKey: string | undefined): fc.Arbitrary<BodyPlan> {
  const withValid = <T>(a: fc.Arbitrary<T>, f: (v: Json, x: T) => BodyPlan) => fc.tuple(valid, a).map(([v, x]) => f(v, x));
  const types = [
    '',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=utf-16',
    'application/json; charset=bogus-8',
    'application/json; charset=latin1',
    'application/merge-patch+json',
    'application/jsonx',
    'application/json;;;',
    'JSON',
  ];
  return fc.oneof(
    // No Content-Type at all, and a wrong one, with a body that would otherwise be fine.
    valid.map((v) => ({ headers: {}, body: text(JSON.stringify(v)), note: 'no content type' })),
    withValid(fc.constantFrom(...types), (v, ct) => ({ headers: { 'content-type': ct }, body: text(JSON.stringify(v)), note: `content type ${JSON.stringify(ct)}` })),
    // Invalid UTF-8 inside a string value (or as the whole body).
    withValid(fc.constantFrom([0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0x80]), (v, bytes) => {
      const marker = '\u0001MARK\u0001';
      const obj = stringKey && v && typeof v === 'object' && !Array.isArray(v) ? { ...v, [stringKey]: marker } : { x: marker };
      const [head, tail] = JSON.stringify(obj).split(JSON.stringify(marker).slice(1, -1));
      return { headers: { ...JSON_TYPE }, body: Buffer.concat([text(head!), Buffer.from(bytes), text(tail ?? '')]), note: `invalid UTF-8 ${bytes}` };
    }),
    // Duplicate keys: a hostile value before or after the valid one.
    withValid(fc.tuple(hostile, fc.boolean()), (v, [bad, first]) => {
      const k = stringKey ?? 'x';
      const good = JSON.stringify(v);
      const inner = good.length > 2 && good.startsWith('{') ? good.slice(1, -1) : '';
      const dup = `"${k}":${JSON.stringify(bad)}`;
      const members = (first ? [dup, inner] : [inner, dup]).filter(Boolean);
      return { headers: { ...JSON_TYPE }, body: text(`{${members.join(',')}}`), note: 'duplicate key' };
    }),
    // Prototype keys at the top level and nested.
    withValid(fc.constantFrom(...protoKeys), (v, k) => ({
      headers: { ...JSON_TYPE },
      body: text(`{"${k}":{"role":"admin","polluted":true},${JSON.stringify(v).slice(1)}`.replace(',}', '}')),
      note: `key ${k}`,
    })),
    // Text that is not JSON, or numbers JSON.stringify cannot write.
    fc
      .constantFrom(
        '',
        ' ',
        '{',
        '{"a":',
        '}',
        'NaN',
        'null',
        '"str"',
        '42',
        'true',
        '[]',
        '[1,2]',
        '\ufeff{}',
        '{"a":1e400}',
        '{"a":-0}',
        '{"a":9007199254740993}',
        '{"a":1E+308}',
        "{'a':1}",
        '{"a":1,}',
        '\u0000',
      )
      .map((s) => ({ headers: { ...JSON_TYPE }, body: text(s), note: `raw ${JSON.stringify(s)}` })),
    fc.uint8Array({ maxLength: 200 }).map((b) => ({ headers: { ...JSON_TYPE }, body: Buffer.from(b), note: 'random bytes' })),
    fc.integer({ min: 1_000, max: 100_000 }).map((d) => ({ headers: { ...JSON_TYPE }, body: text('['.repeat(d) + ']'.repeat(d)), note: `nested ${d} deep` })),
    // Compressed bodies: good, corrupt, truncated, unknown encodings.
    withValid(fc.constantFrom('gzip ok', 'gzip corrupt', 'gzip truncated', 'gzip garbage', 'deflate corrupt', 'br corrupt', 'compress', 'gzip, gzip', 'identity'), (v, how) => {
      const plain = text(JSON.stringify(v));
      const gz = gzipSync(plain);
      const corrupt = Buffer.from(gz);
      for (const i of [Math.floor(corrupt.length / 2), corrupt.length - 5]) corrupt[i] = corrupt[i]! ^ 0xff;
      const bodies: Record<string, [string, Buffer]> = {
        'gzip ok': ['gzip', gz],
        'gzip corrupt': ['gzip', corrupt],
        'gzip truncated': ['gzip', gz.subarray(0, Math.max(1, gz.length - 8))],
        'gzip garbage': ['gzip', Buffer.from('this is not gzip at all')],
        'deflate corrupt': ['deflate', deflateSync(plain).subarray(3)],
        'br corrupt': ['br', Buffer.from([0x1b, 0xff, 0xff, 0x00, 0x01])],
        compress: ['compress', plain],
        'gzip, gzip': ['gzip, gzip', gzipSync(gz)],
        identity: ['identity', plain],
      };
      const [encoding, body] = bodies[how]!;
      return { headers: { ...JSON_TYPE, 'content-encoding': encoding }, body, note: how };
    }),
    // Over the body limit (1 MiB), as plain text and as a small gzip that inflates past it.
    fc.constantFrom('plain', 'gzip bomb').map((how) => {
      const big = text(JSON.stringify({ [stringKey ?? 'x']: 'x'.repeat(1024 * 1024 + 100) }));
      return how === 'plain'
        ? { headers: { ...JSON_TYPE }, body: big, note: 'over the limit' }
        : { headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, body: gzipSync(big), note: 'gzip over the limit' };
    }),
  );
}

/** Hostile bodies for an operation that takes `schema`. */
function mutatedBodies(schema: Schema): fc.Arbitrary<BodyPlan> {
  const v = valid(schema);
  const keys = Object.keys(schema.properties ?? {});
  const stringKey = keys.find((k) => (schema.properties![k]!.type ?? '') === 'string');
  return fc.oneof(
    // One value anywhere in a valid body replaced by a hostile one.
    {
      weight: 5,
      arbitrary: fc.tuple(v, fc.nat(), hostile).map(([b, i, bad]) => {
        const paths = pathsOf(b).slice(1);
        const path = paths.length ? paths[i % paths.length]! : [keys[i % Math.max(1, keys.length)] ?? 'x'];
        return jsonBody(setAt(b, path, bad), `/${path.join('/')} = hostile`);
      }),
    },
    // A declared key with a hostile value even where the valid body left it out.
    { weight: 3, arbitrary: fc.tuple(v, fc.constantFrom(...(keys.length ? keys : ['x'])), hostile).map(([b, k, bad]) => jsonBody(setAt(b, [k], bad), `/${k} = hostile`)) },
    // Unknown and prototype keys.
    {
      weight: 2,
      arbitrary: fc
        .tuple(v, fc.oneof(fc.constantFrom(...protoKeys), fc.string({ unit: 'binary', maxLength: 12 })), hostile)
        .map(([b, k, bad]) => jsonBody(setAt(b, [k], bad), `extra key ${JSON.stringify(k)}`)),
    },
    // A required key dropped, or the whole body replaced.
    {
      weight: 1,
      arbitrary: v.map((b) => {
        const copy = { ...(b as Record<string, Json>) };
        delete copy[(schema.required ?? keys)[0] ?? 'x'];
        return jsonBody(copy, 'required key dropped');
      }),
    },
    { weight: 2, arbitrary: hostile.map((bad) => jsonBody(bad, 'whole body hostile')) },
    { weight: 4, arbitrary: rawVariants(v, stringKey) },
  );
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const badCursors: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '!!!',
    '====',
    'djE6',
    b64('v1:'),
    b64('v1:abc'),
    b64('v1:-1'),
    b64('v1:0'),
    b64('v1:99999999999999999999999'),
    b64('v1:9223372036854775808'),
    b64('v1:1e5'),
    b64('v1:' + 'a'.repeat(140)),
    b64('v2:1'),
    b64('v1:1 OR 1=1'),
    b64('v1:\u0000'),
    b64('v1:vol_' + '0'.repeat(26)),
    b64('v1:not_an_id'),
  ),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => b64(`v1:${s}`)),
  fc.string({ maxLength: 60 }),
);

const hostileQuery: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '-1',
    '0',
    '501',
    '1.5',
    '1e308',
    '1e2',
    'NaN',
    'Infinity',
    '9007199254740993',
    '0x10',
    'true',
    'null',
    '[]',
    'x'.repeat(5_000),
    '2016-12-31T23:59:60Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '2024-02-30T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '2024-01-01',
    'vol_' + '0'.repeat(26),
    '\u0000',
    '\u001f',
    'ü',
    "' OR 1=1 --",
  ),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

const hostilePathValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'x',
    '0',
    '-1',
    'vol_',
    'vol_' + 'A'.repeat(26),
    'vol_' + '0'.repeat(27),
    'qrq_' + '0'.repeat(26),
    'rul_' + '0'.repeat(26),
    '..',
    '.',
    '%2e%2e',
    '%2F',
    '%00',
    '%E0%A4%A',
    '%',
    '%%30',
    'a'.repeat(3000),
    '%C3%BC',
    '%20',
    'team-a%00',
    'TEAM-A',
    'team-a.json',
    '__proto__',
    'constructor',
    '%27%20OR%201%3D1--',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map(encodeURIComponent),
);

function enc(v: Json): string {
  return encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v));
}

/** Path values, query string and body of a valid request to `op`. */
function validParts(op: Operation) {
  const path = op.params.filter((p) => p.in === 'path');
  const query = op.params.filter((p) => p.in === 'query');
  const pathArb = fc.tuple(
    ...path.map((p) =>
      known[p.name]?.length ? fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...known[p.name]!) }, { weight: 1, arbitrary: valid(p.schema).map(String) }) : valid(p.schema).map(String),
    ),
  );
  const queryArb = fc.tuple(
    ...query.map((p) => {
      const value = p.name === 'cursor' && cursors.length ? fc.constantFrom(...cursors) : valid(p.schema);
      return fc.option(
        value.map((v) => `${p.name}=${enc(v)}`),
        { freq: 2 },
      );
    }),
  );
  return { path, query, pathArb, queryArb };
}

function urlOf(op: Operation, path: Param[], values: string[], query: (string | null)[]): string {
  let url = op.template;
  path.forEach((p, i) => (url = url.replace(`{${p.name}}`, values[i]!)));
  const qs = query.filter((q): q is string => q !== null).join('&');
  return qs ? `${url}?${qs}` : url;
}

function authHeader(role: Role, tokens: Record<string, string>): fc.Arbitrary<Record<string, string>> {
  if (role === 'anonymous') return fc.constant({});
  if (role === 'badToken') return fc.constantFrom(...badTokens).map((a) => ({ authorization: a }));
  return fc.constant({ authorization: `Bearer ${tokens[role]}` });
}

const now = () => Math.floor(Date.now() / 1000);
const claims = { role: 'admin', sub: 'mallory', iss: 'headroom' };
const badTokens = [
  'Bearer',
  'Bearer ',
  'Basic YWRtaW46YWRtaW4=',
  'Bearer not.a.jwt',
  'Bearer a.b',
  `Bearer ${'x'.repeat(4000)}`,
  'bearer a b',
  `Bearer ${jwt.sign({ ...claims, exp: now() + 600 }, 'another-secret-another-secret-00000')}`,
  `Bearer ${jwt.sign({ ...claims, exp: now() + 600 }, '', { algorithm: 'none' })}`,
  `Bearer ${jwt.sign({ ...claims, exp: now() - 600 }, testSecret)}`,
  `Bearer ${jwt.sign({ ...claims }, testSecret)}`,
  `Bearer ${jwt.sign({ ...claims, exp: now() + 600, role: 'root' }, testSecret)}`,
  `Bearer ${jwt.sign({ ...claims, exp: now() + 600, iss: 'evil' }, testSecret)}`,
  `Bearer ${jwt.sign({ ...claims, exp: now() + 600, sub: '' }, testSecret)}`,
  `Bearer ${jwt.sign({ ...claims, role: 'engineer', tenants: 'team-a', exp: now() + 600 }, testSecret)}`,
  // A lifetime past JWT_MAX_LIFETIME_SECONDS, and a critical header extension Headroom does not know.
  `Bearer ${jwt.sign({ ...claims, iat: now() - 60, exp: now() + 400 * 86_400 }, testSecret)}`,
  `Bearer ${jwt.sign({ ...claims, exp: now() + 600 }, testSecret, { header: { alg: 'HS256', crit: ['exp-ext'], 'exp-ext': 1 } as jwt.JwtHeader })}`,
];

// ---- the suite ----------------------------------------------------------------------------------

describe.skipIf(!pgAvailable())('fuzz: no 5xx and no writes for bad input, from the spec', () => {
  let t: TestApp;
  let server: http.Server;
  let tokens: Record<string, string>;
  let countSql: string;
  let baseline: Record<string, number> | undefined;
  let sent = 0;
  const started = Date.now();
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    console.log(`fuzz: FUZZ_SEED=${baseSeed} FUZZ_REQUESTS=${target} (${operations.length} operations x ${roles.length} callers)`);
    t = await createTestApp();
    server = http.createServer(t.http);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    tokens = {
      admin: t.token('admin', 'fuzz-admin'),
      platform: t.token('platform', 'fuzz-platform'),
      engineer: t.token('engineer', 'eng-a', ['team-a']),
      outsider: t.token('engineer', 'eng-b', ['team-b']),
    };
    const admin = `Bearer ${tokens.admin}`;
    const tenants = ['team-a', 'team-b'];
    const volumes: string[] = [];
    for (const id of tenants) {
      await buildTenant(server, admin, { id, webhookUrl: 'http://127.0.0.1:9/hook' });
      for (const name of ['one', 'two', 'three']) volumes.push((await buildVolume(server, admin, id, { name, quota: { softBytes: 1e9, hardBytes: 2e9 } })).id);
    }
    const qr = await request(server).post(`/v1/volumes/${volumes[0]}/quota-requests`).set('authorization', `Bearer ${tokens.engineer}`).send({ hardBytes: 3e9, reason: 'room for the fuzz' });
    expect(qr.status).toBe(201);
    const rule = await request(server)
      .post('/v1/quota-rules')
      .set('authorization', admin)
      .send({ tier: 'standard', kind: 'percent_increase', params: { maxPercent: 1, cooldownDays: 30 } });
    expect(rule.status).toBe(201);
    const walk = await request(server).post(`/v1/volumes/${volumes[1]}/walks`).set('authorization', admin);
    expect(walk.status).toBe(202);
    const run = await request(server).post('/v1/jobs/counters/runs').set('authorization', admin);
    expect(run.status).toBe(202);
    await settle();
    Object.assign(known, { tenantId: tenants, volumeId: volumes, requestId: [qr.body.id], ruleId: [rule.body.id], walkId: [walk.body.id], runId: [run.body.id] });
    for (const path of ['/v1/tenants', '/v1/volumes', '/v1/audit', '/v1/quota-requests', '/v1/notifications']) {
      const page = await request(server).get(`${path}?limit=1`).set('authorization', admin);
      if (page.body.nextCursor) cursors.push(page.body.nextCursor);
    }
    const tables = await t.database.db('information_schema.tables').where({ table_schema: 'public', table_type: 'BASE TABLE' }).orderBy('table_name').pluck('table_name');
    countSql = `select ${tables.map((n: string) => `(select count(*) from "${n}")::int as "${n}"`).join(', ')}`;
  }, 120_000);

  afterAll(async () => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const byStatus = [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`);
    console.log(`fuzz: ${sent} requests in ${seconds} s (FUZZ_SEED=${baseSeed}); statuses ${byStatus.join(' ')}`);
    await new Promise((resolve) => server?.close(resolve));
    await t?.close();
  });

  /** Row counts of every table, in one query. */
  async function counts(): Promise<Record<string, number>> {
    const { rows } = (await t.database.db.raw(countSql)) as { rows: Record<string, number>[] };
    return rows[0]!;
  }

  /** Waits for background work a 2xx may have started (walks, job runs) to finish. */
  async function settle(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { rows } = (await t.database.db.raw(`select (select count(*) from walks where state in ('queued', 'running')) + (select count(*) from job_runs where state = 'running') as n`)) as {
        rows: { n: string }[];
      };
      if (Number(rows[0]!.n) === 0) return;
      if (Date.now() > deadline) throw new Error('background work did not finish within 60 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends one planned request and checks every property. */
  async function check(plan: Plan): Promise<void> {
    const changes = plan.method !== 'get';
    if (changes && !baseline) baseline = await counts();
    let req = request(server)[plan.method](plan.url);
    for (const [k, v] of Object.entries(plan.headers)) req = req.set(k, v);
    // The bytes go as they are: superagent would JSON-encode a Buffer sent with a JSON content type.
    if (plan.body) req = req.serialize((b: unknown) => b as string).send(plan.body);
    const res = await req; // the shared client has already checked it against the spec
    sent++;
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const what = `${plan.role} ${plan.method.toUpperCase()} ${plan.url.slice(0, 300)} (${plan.note}) -> ${res.status} ${JSON.stringify(res.body).slice(0, 400)}`;
    expect(res.status, what).toBeLessThan(500);
    if (plan.url.startsWith('/v1') && (plan.role === 'anonymous' || plan.role === 'badToken')) expect(res.status, what).toBe(401);
    if (res.status >= 400) {
      expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
      expect(typeof res.body.code, what).toBe('string');
      if (changes) {
        const after = await counts();
        // A replayable 4xx under an Idempotency-Key is stored on purpose; nothing else may change.
        if (plan.headers['idempotency-key']) after.idempotency_keys = baseline!.idempotency_keys!;
        const changed = Object.keys(after).filter((table) => after[table] !== baseline![table]);
        expect(
          changed.map((table) => `${table} ${baseline![table]} -> ${after[table]}`),
          what,
        ).toEqual([]);
        if (plan.headers['idempotency-key']) baseline = undefined; // its stored replay moved the count
      }
      return;
    }
    baseline = undefined; // a success may have written; count again before the next check
    if (/\/(walks|runs)$/.test(plan.url.split('?')[0]!) && plan.method === 'post') await settle();
  }

  function planOf(op: Operation, role: Role, parts: fc.Arbitrary<{ path: string[]; query: (string | null)[]; body: BodyPlan; extra: Record<string, string> }>): fc.Arbitrary<Plan> {
    const { path } = validParts(op);
    // Where the server answers without reading the body (no token, or an operation that takes
    // none), it closes the connection while a large body is still being written, and the client
    // sees a reset instead of the answer; bodies there are kept small enough to be sent whole.
    const unread = !op.body || role === 'anonymous' || role === 'badToken';
    return fc.tuple(parts, authHeader(role, tokens)).map(([p, auth]) => {
      const body = unread && p.body.body && p.body.body.length > 32_768 ? p.body.body.subarray(0, 32_768) : p.body.body;
      const plan: Plan = { role, method: op.method, url: urlOf(op, path, p.path, p.query), headers: { ...p.body.headers, ...p.extra, ...auth }, body, note: p.body.note };
      // fast-check prints counterexamples with this, not with a megabyte of body.
      return Object.assign(plan, {
        [fc.toStringMethod]: () => `${role} ${op.method.toUpperCase()} ${plan.url.slice(0, 200)} ${JSON.stringify(plan.headers).slice(0, 300)} body ${plan.body?.length ?? 0} B (${plan.note})`,
      });
    });
  }

  const idemKey = (op: Operation, hostileToo: boolean): fc.Arbitrary<Record<string, string>> =>
    op.params.some((p) => p.name === 'Idempotency-Key')
      ? fc
          .option(hostileToo ? fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('', 'k'.repeat(201), 'k'.repeat(8000))) : fc.string({ minLength: 1, maxLength: 40 }), { freq: 2 })
          .map((k) => (k === null ? ({} as Record<string, string>) : { 'idempotency-key': k }))
      : fc.constant({});

  function validPlans(op: Operation, role: Role): fc.Arbitrary<Plan> {
    const { pathArb, queryArb } = validParts(op);
    const body = op.body ? valid(op.body.schema).map((v) => jsonBody(v, 'valid')) : fc.constant<BodyPlan>({ headers: {}, note: 'valid, no body' });
    return planOf(op, role, fc.record({ path: pathArb, query: queryArb, body, extra: idemKey(op, false) }));
  }

  function mutatedPlans(op: Operation, role: Role): fc.Arbitrary<Plan> {
    const { path, query, pathArb, queryArb } = validParts(op);
    const goodBody = op.body ? valid(op.body.schema).map((v) => jsonBody(v, 'valid body')) : fc.constant<BodyPlan>({ headers: {}, note: 'no body' });
    const variants: fc.Arbitrary<{ path: string[]; query: (string | null)[]; body: BodyPlan; extra: Record<string, string> }>[] = [];
    if (op.body) variants.push(fc.record({ path: pathArb, query: queryArb, body: mutatedBodies(op.body.schema), extra: idemKey(op, true) }));
    else variants.push(fc.record({ path: pathArb, query: queryArb, body: rawVariants(fc.constant({ x: 1 }), 'x'), extra: fc.constant({}) }));
    if (path.length) {
      variants.push(
        fc.record({ path: pathArb, i: fc.nat(), bad: hostilePathValue, query: queryArb, body: goodBody, extra: fc.constant({}) }).map(({ path: p, i, bad, ...rest }) => {
          const copy = [...p];
          copy[i % copy.length] = bad;
          return { ...rest, path: copy };
        }),
      );
    }
    // Query values: hostile values for declared parameters, repeated and unknown parameters, bad cursors.
    const names = query.map((q) => q.name);
    variants.push(
      fc
        .record({
          path: pathArb,
          query: queryArb,
          name: fc.oneof(fc.constantFrom(...(names.length ? names : ['limit'])), fc.constantFrom('colour', '__proto__', 'constructor', 'cursor[]', 'limit[]')),
          value: fc.oneof(hostileQuery.map(encodeURIComponent), fc.constantFrom('%', '%E0%A4%A', '%00', 'a&b=c')),
          repeat: fc.boolean(),
          body: goodBody,
          extra: fc.constant({}),
        })
        .map(({ name, value, repeat, query: q, ...rest }) => ({ ...rest, query: [...q, `${name}=${value}`, ...(repeat ? [`${name}=${value}`] : [])] })),
    );
    if (names.includes('cursor')) {
      variants.push(
        fc
          .record({ path: pathArb, query: queryArb, cursor: badCursors, body: goodBody, extra: fc.constant({}) })
          .map(({ cursor, query: q, ...rest }) => ({ ...rest, query: [...q.filter((x) => !x?.startsWith('cursor=')), `cursor=${encodeURIComponent(cursor)}`] })),
      );
    }
    return planOf(op, role, fc.oneof(...variants));
  }

  for (const phase of ['valid', 'mutated'] as const) {
    describe(`${phase} requests`, () => {
      for (const op of operations) {
        it(`${op.method.toUpperCase()} ${op.template}`, async () => {
          for (const role of roles) {
            const plans = phase === 'valid' ? validPlans(op, role) : mutatedPlans(op, role);
            const seed = seedFor(`${phase} ${op.id} ${role}`);
            await fc
              .assert(
                fc.asyncProperty(plans, (plan) => check(plan)),
                { numRuns: runsFor(phase, role), seed, endOnFailure: process.env.FUZZ_SHRINK !== '1' },
              )
              .catch((err: Error) => {
                // fast-check keeps the assertion that failed as the cause; show both.
                const cause = (err as { cause?: Error }).cause;
                throw new Error(`${phase} ${op.id} as ${role} failed (replay with FUZZ_SEED=${baseSeed}): ${err.message}\n${cause?.message ?? ''}`);
              });
          }
        }, 240_000);
      }
    });
  }

  it('sent the whole budget of requests', () => {
    expect(sent).toBeGreaterThanOrEqual(target);
  });
});
