/**
 * Compiles the request side of every operation in the OpenAPI document once, at start: its
 * parameters (where they are, how a query value is read, their JSON Schema) and one Ajv
 * validator for path, query and header parameters (coerced from strings) and one per request
 * media type for the body (never coerced). Schemas are referenced by JSON pointer into the one
 * copy of the spec each Ajv instance holds, so every `$ref` (to components or anywhere else)
 * resolves as the spec means it, and a component used by many operations is compiled once.
 *
 * The Ajv options are express-openapi-validator's, which this replaces: the 2020-12 dialect of
 * OpenAPI 3.1, formats validated (ajv-formats "fast" plus OpenAPI's int32/int64/float/double/
 * byte/binary/password), defaults filled in, one error per validator (not all of them).
 */
import Ajv2020 from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

type Json = Record<string, unknown>;

/** A parameter object after `$ref`s are followed. */
interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Json;
  content?: Record<string, { schema?: Json }>;
  style?: string;
  explode?: boolean;
  allowReserved?: boolean;
  allowEmptyValue?: boolean;
}

/** How one declared query parameter is read from the query string. */
export interface QueryParamRule {
  name: string;
  /** For `type: array`: exploded (`a=1&a=2`) or split on a delimiter (`a=1,2`). */
  array?: { explode: boolean; delimiter: string };
  /** A JSON value in the query string (`content: application/json`, objects, unions). */
  json: boolean;
  allowEmpty: boolean;
  /** Raw values must percent-encode reserved characters (commas allowed when not exploded). */
  reserved: 'strict' | 'commas' | 'allowed';
  /** Integers and numbers must also be finite (and safe) inside their declared range. */
  numeric?: { type: 'integer' | 'number'; minimum?: number; maximum?: number };
  default?: unknown;
}

/** The compiled request side of one operation. */
export interface CompiledOperation {
  method: string;
  template: string;
  /** The operation object, with path-level parameters merged in (as `req.openapi.schema`). */
  schema: Json;
  query: Map<string, QueryParamRule>;
  /** Query names a security scheme reads (an `apiKey` in the query), never "unknown". */
  securityQuery: Set<string>;
  /** Header parameters (lower-case) with a default to fill in. */
  headerDefaults: [string, unknown][];
  /** Validates `{ query, headers, params }`. */
  parameters: ValidateFunction;
  body?: { required: boolean; byMediaType: { mediaType: string; validate: ValidateFunction }[] };
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const SPEC_ID = 'headroom-openapi';
const DELIMITERS: Record<string, string> = { form: ',', simple: ',', spaceDelimited: ' ', pipeDelimited: '|' };
const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Ajv with express-openapi-validator's request options; `coerce` for parameters only. */
function makeAjv(spec: Json, coerce: boolean): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, strictNumbers: true, strictTuples: true, allowUnionTypes: false, validateSchema: false, coerceTypes: coerce, useDefaults: true, allErrors: false });
  const maxInt32 = 2 ** 31 - 1;
  const maxFloat = (2 - 2 ** -23) * 2 ** 127;
  ajv.addFormat('int32', { type: 'number', validate: (i: number) => Number.isInteger(i) && i <= maxInt32 && i >= -(2 ** 31) });
  ajv.addFormat('int64', { type: 'number', validate: (i: number) => Number.isInteger(i) && i <= 2 ** 63 - 1 && i >= -(2 ** 63) });
  ajv.addFormat('float', { type: 'number', validate: (i: number) => i === 0 || (Math.abs(i) <= maxFloat && Math.abs(i) >= 2 ** -126) });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('byte', (b: string) => b.length % 4 === 0 && /^[A-Za-z0-9+/]*(=|==)?$/.test(b));
  ajv.addFormat('binary', true);
  ajv.addFormat('password', true);
  ajv.addFormat('media-range', true);
  addFormats.default(ajv, { mode: 'fast' });
  ajv.addSchema(spec, SPEC_ID);
  return ajv;
}

/** Follows a local `$ref` chain; returns the node and its JSON pointer (`#/…`). */
function follow(spec: Json, node: unknown, pointer: string): { node: Json; pointer: string } {
  let current = node as Json;
  for (let hops = 0; current && typeof current.$ref === 'string'; hops++) {
    const ref = current.$ref;
    if (!ref.startsWith('#') || hops > 20) throw new Error(`OpenAPI: cannot follow $ref ${ref} at ${pointer}`);
    pointer = ref;
    current = ref
      .slice(2)
      .split('/')
      .filter(Boolean)
      .map((p) => decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((o, k) => (o as Json | undefined)?.[k], spec) as Json;
    if (current === undefined) throw new Error(`OpenAPI: $ref ${ref} points at nothing`);
  }
  return { node: current, pointer };
}

/** Query reading rules for one parameter (styles as OpenAPI defines their defaults). */
function queryRule(spec: Json, p: ParameterObject, schemaPointer: string): QueryParamRule {
  const schema = p.schema ? follow(spec, p.schema, schemaPointer).node : {};
  const explode = p.explode ?? (p.style ?? 'form') === 'form';
  const type = schema.type;
  // Objects and unions are read as a JSON value (`filter={"a":1}`), as express-openapi-validator
  // read them; an exploded object (`a=1&b=2`) is not supported, so its keys are refused as unknown.
  const json = Boolean(p.content) || type === 'object' || Boolean(schema.properties || schema.allOf || schema.oneOf || schema.anyOf);
  const rule: QueryParamRule = {
    name: p.name,
    json,
    allowEmpty: p.allowEmptyValue === true,
    reserved: p.allowReserved ? 'allowed' : explode ? 'strict' : 'commas',
    default: schema.default,
  };
  if (type === 'array') {
    const delimiter = DELIMITERS[p.style ?? 'form'];
    if (!delimiter) throw new Error(`OpenAPI: query parameter "${p.name}" has style ${p.style}, which arrays do not take`);
    rule.array = { explode, delimiter };
  }
  if (type === 'integer' || type === 'number') rule.numeric = { type, minimum: schema.minimum as number | undefined, maximum: schema.maximum as number | undefined };
  return rule;
}

/** Path-level parameters, overridden by operation-level ones of the same name and place. */
function parametersOf(spec: Json, template: string, method: string): { p: ParameterObject; schemaPointer: string }[] {
  const base = `#/paths/${esc(template)}`;
  const item = (spec.paths as Json)[template] as Json;
  const byKey = new Map<string, { p: ParameterObject; schemaPointer: string }>();
  const add = (list: unknown, at: string) =>
    ((list as unknown[] | undefined) ?? []).forEach((raw, i) => {
      const { node, pointer } = follow(spec, raw, `${at}/${i}`);
      const p = node as unknown as ParameterObject;
      const contentType = p.content && Object.keys(p.content)[0];
      const schemaPointer = contentType ? `${pointer}/content/${esc(contentType)}/schema` : `${pointer}/schema`;
      const schema = contentType ? p.content![contentType]!.schema : p.schema;
      byKey.set(`${p.in}:${p.in === 'header' ? p.name.toLowerCase() : p.name}`, { p: { ...p, schema }, schemaPointer });
    });
  add(item.parameters, `${base}/parameters`);
  add((item[method] as Json).parameters, `${base}/${method}/parameters`);
  return [...byKey.values()];
}

/** A parameter's name in its location, whether it is required, and its schema's pointer. */
interface LocatedSchema {
  name: string;
  required: boolean;
  pointer: string;
}

/** JSON Schema of one request location (`query`, `headers`, `params`) as `$ref`s into the spec. */
function locationSchema(entries: LocatedSchema[]): Json {
  if (!entries.length) return {};
  const required = entries.filter((e) => e.required).map((e) => e.name);
  return { type: 'object', properties: Object.fromEntries(entries.map((e) => [e.name, { $ref: `${SPEC_ID}${e.pointer}` }])), ...(required.length ? { required } : {}) };
}

/** Query names that a security scheme of the operation reads (`apiKey` in `query`). */
function securityQueryNames(spec: Json, op: Json): Set<string> {
  const requirements = ((op.security ?? spec.security) as Record<string, unknown>[] | undefined) ?? [];
  const schemes = ((spec.components as Json | undefined)?.securitySchemes ?? {}) as Record<string, { type?: string; in?: string; name?: string }>;
  const names = requirements.flatMap((r) => Object.keys(r)).map((k) => schemes[k]);
  return new Set(names.filter((s) => s?.type === 'apiKey' && s.in === 'query').map((s) => s!.name!));
}

/** Compiles one operation (see the module comment). */
function compileOperation(spec: Json, ajv: { params: Ajv2020; body: Ajv2020 }, template: string, method: string): CompiledOperation {
  const item = (spec.paths as Json)[template] as Json;
  const params = parametersOf(spec, template, method);
  const query = new Map<string, QueryParamRule>();
  const located: Record<'query' | 'headers' | 'params', LocatedSchema[]> = { query: [], headers: [], params: [] };
  const headerDefaults: [string, unknown][] = [];
  for (const { p, schemaPointer } of params) {
    const entry = { name: p.in === 'header' ? p.name.toLowerCase() : p.name, required: p.required === true, pointer: schemaPointer };
    if (p.in === 'query') {
      query.set(p.name, queryRule(spec, p, schemaPointer));
      located.query.push(entry);
    } else if (p.in === 'header') {
      located.headers.push(entry);
      const d = p.schema && follow(spec, p.schema, schemaPointer).node.default;
      if (d !== undefined) headerDefaults.push([entry.name, d]);
    } else if (p.in === 'path') located.params.push(entry);
    // Cookie parameters are not read: the app parses no cookies (nor did the validator before).
  }
  const parameters = ajv.params.compile({ type: 'object', properties: { query: locationSchema(located.query), headers: locationSchema(located.headers), params: locationSchema(located.params) } });
  const operation = item[method] as Json;
  const schema = { ...operation, parameters: params.map((x) => x.p) };
  const compiled: CompiledOperation = { method: method.toUpperCase(), template, schema, query, securityQuery: securityQueryNames(spec, operation), headerDefaults, parameters };
  if (operation.requestBody) {
    const rb = follow(spec, operation.requestBody, `#/paths/${esc(template)}/${method}/requestBody`);
    const content = (rb.node.content ?? {}) as Record<string, { schema?: unknown }>;
    const required = rb.node.required === true;
    compiled.body = {
      required,
      byMediaType: Object.keys(content).map((mediaType) => {
        const bodySchema = content[mediaType]!.schema ? { $ref: `${SPEC_ID}${rb.pointer}/content/${esc(mediaType)}/schema` } : {};
        const validate = ajv.body.compile({ type: 'object', properties: { body: bodySchema }, ...(required ? { required: ['body'] } : {}) });
        return { mediaType: mediaType.split(';')[0]!.trim().toLowerCase(), validate };
      }),
    };
  }
  return compiled;
}

// Compiling takes ~150 ms; test suites build many apps from the same spec. Compiled validators
// hold no per-request state, so apps built from an identical spec share them.
const compiledBySpec = new Map<string, Map<string, Map<string, CompiledOperation>>>();

/** Every operation of `spec`, by path template then upper-case method, compiled. */
export function compileOperations(spec: Record<string, unknown>): Map<string, Map<string, CompiledOperation>> {
  const text = JSON.stringify(spec);
  const cached = compiledBySpec.get(text);
  if (cached) return cached;
  const compiled = compileAll(JSON.parse(text) as Json);
  if (compiledBySpec.size >= 4) compiledBySpec.delete(compiledBySpec.keys().next().value!);
  compiledBySpec.set(text, compiled);
  return compiled;
}

function compileAll(copy: Json): Map<string, Map<string, CompiledOperation>> {
  const ajv = { params: makeAjv(copy, true), body: makeAjv(copy, false) };
  const out = new Map<string, Map<string, CompiledOperation>>();
  for (const [template, item] of Object.entries((copy.paths ?? {}) as Record<string, Json>)) {
    const methods = new Map<string, CompiledOperation>();
    for (const method of HTTP_METHODS) if (item[method]) methods.set(method.toUpperCase(), compileOperation(copy, ajv, template, method));
    out.set(template, methods);
  }
  return out;
}
