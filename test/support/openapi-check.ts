/**
 * Checks real responses against `openapi/openapi.yaml`: the status must be declared for the
 * operation, the content type must match, and the body must validate (strictly: the response
 * schemas forbid unknown properties).
 */
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';
import { loadSpec } from '../../server/http/openapi.js';

const spec = loadSpec() as { paths: Record<string, Record<string, Operation>> } & Record<string, unknown>;
interface Operation {
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(spec as object, 'spec');

const templates = Object.keys(spec.paths).map((t) => ({
  template: t,
  re: new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));

function resolve<T>(obj: T & { $ref?: string }): T {
  if (!obj.$ref) return obj;
  const parts = obj.$ref.replace(/^#\//, '').split('/');
  return parts.reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], spec) as T;
}

/** Asserts that a supertest response matches the spec for its method and path. */
export function expectMatchesSpec(res: { status: number; headers: Record<string, string>; body: unknown }): void {
  // supertest keeps the underlying ClientRequest on `req`; its types do not say so.
  const req = (res as unknown as { req: { method: string; path: string } }).req;
  const urlPath = req.path.split('?')[0]!;
  const match = templates.find((t) => t.re.test(urlPath));
  expect(match, `no path in the spec matches ${urlPath}`).toBeDefined();
  const op = spec.paths[match!.template]![req.method.toLowerCase()];
  expect(op, `no ${req.method} ${match!.template} in the spec`).toBeDefined();
  const declared = op!.responses[String(res.status)];
  if (!declared && res.status >= 500) {
    // Server faults are not declared per operation; they must still be problem+json with a code.
    expect(res.headers['content-type'], `${req.method} ${match!.template} ${res.status}`).toMatch(/^application\/problem\+json/);
    const problem = ajv.getSchema('spec#/components/schemas/Problem')!;
    expect(problem(res.body), `5xx body is not a Problem: ${JSON.stringify(res.body)}`).toBe(true);
    return;
  }
  expect(declared, `${req.method} ${match!.template} does not declare status ${res.status}`).toBeDefined();
  const response = resolve(declared!);
  const contentType = (res.headers['content-type'] ?? '').split(';')[0]!.trim();
  const media = response.content?.[contentType];
  expect(media, `${req.method} ${match!.template} ${res.status} does not declare ${contentType}`).toBeDefined();
  // Validate by JSON pointer into the registered spec, so refs nested in inline schemas resolve.
  const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
  const base = declared!.$ref ? declared!.$ref.replace(/^#/, '') : `/paths/${esc(match!.template)}/${req.method.toLowerCase()}/responses/${res.status}`;
  const validate = ajv.getSchema(`spec#${base}/content/${esc(contentType)}/schema`)!;
  // Non-JSON bodies (the Prometheus text of /metrics) are validated as the text they are.
  const body = /json/.test(contentType) ? res.body : (res as unknown as { text: string }).text;
  const ok = validate(body);
  expect(ok, `response does not match the spec: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`).toBe(true);
}

/** Whether the spec declares `method path` (a concrete path, query string ignored). */
export function inSpec(method: string, path: string): boolean {
  const urlPath = path.split('?')[0]!;
  const match = templates.find((t) => t.re.test(urlPath));
  return Boolean(match && spec.paths[match.template]![method.toLowerCase()]);
}

/**
 * What every test response must satisfy: an operation of the spec matches it exactly; a path
 * outside the spec (an unknown route, the docs pages) answers errors as problem+json with a code.
 */
export function checkResponse(res: { status: number; headers: Record<string, string>; body: unknown }): void {
  const req = (res as unknown as { req: { method: string; path: string } }).req;
  if (inSpec(req.method, req.path)) return expectMatchesSpec(res);
  if (res.status >= 400) {
    expect(res.headers['content-type'], `${req.method} ${req.path} ${res.status}`).toMatch(/^application\/problem\+json/);
    expect(typeof (res.body as { code?: unknown }).code).toBe('string');
  }
}
