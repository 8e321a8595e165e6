/**
 * Reads the query string the way the contract declares it, before its values are validated:
 * arrays and JSON values are shaped, unencoded reserved characters, unknown parameters and
 * empty values are refused. These are express-openapi-validator's rules, kept so that clients
 * see the same answers now that Headroom validates requests itself.
 */
import type { QueryParamRule } from './request-schemas.js';

/** A field-level problem, as the `errors` of a `validation_failed` answer list them. */
export interface Problem {
  path: string;
  message: string;
}

// RFC 3986 gen-delims and sub-delims: a value holding one unencoded is ambiguous.
const RESERVED = /[:/?#[\]@!$&'()*+,;=]/;

/** An object without a prototype, so a `__proto__` key is a key like any other (as node:querystring makes them). */
const bare = (): Record<string, unknown> => Object.create(null) as Record<string, unknown>;

/** The undecoded values of each name in a raw query string (`a=1&a=2` → a: [1, 2]). */
function rawValues(raw: string): Map<string, (string | undefined)[]> {
  const out = new Map<string, (string | undefined)[]>();
  for (const pair of raw.split('&')) {
    const [k = '', v] = pair.split('=');
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}

/**
 * `name[]=x` and `name[key]=x` name the parameter `name` (as qs reads them): an array or an
 * object, which a scalar parameter then refuses; any other name with a bracket is unknown.
 */
function unbracket(query: Record<string, unknown>, rules: Map<string, QueryParamRule>): Record<string, unknown> {
  const out = bare();
  for (const key of Object.keys(query)) {
    const value = query[key];
    const open = key.indexOf('[');
    if (open <= 0 || rules.has(key)) {
      out[key] = value;
      continue;
    }
    const base = key.slice(0, open);
    const inner = key.slice(open + 1, key.indexOf(']', open) < 0 ? undefined : key.indexOf(']', open));
    const values = Array.isArray(value) ? value : [value];
    const merged = Object.assign(bare(), typeof out[base] === 'object' ? out[base] : {});
    merged[inner] = value;
    out[base] = inner === '' ? values : merged;
  }
  return out;
}

/** Shapes one declared parameter's value (array or JSON); undefined stays undefined. */
function shape(rule: QueryParamRule, value: unknown): unknown {
  if (value === undefined) return value;
  if (rule.json && typeof value === 'string') {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value; // the schema says what was wrong with it
    }
  }
  if (!rule.array) return value;
  if (Array.isArray(value)) return value;
  return rule.array.explode || typeof value !== 'string' ? [value] : value.split(rule.array.delimiter);
}

/**
 * The query of a request to an operation with these `rules`, ready for its schema (defaults
 * filled in), or the first problem found. `raw` is the undecoded query string (after `?`).
 */
export function prepareQuery(query: Record<string, unknown>, raw: string, rules: Map<string, QueryParamRule>, securityNames: Set<string>): { query: Record<string, unknown> } | { problem: Problem } {
  const keys = Object.keys(query);
  const parsed = keys.some((k) => k.includes('[')) ? unbracket(query, rules) : query;
  const raws = raw ? rawValues(raw) : undefined;
  for (const rule of rules.values()) {
    if (!raws || rule.reserved === 'allowed') continue;
    for (const v of raws.get(rule.name) ?? []) {
      const parts = v === undefined ? [] : rule.reserved === 'commas' ? v.split(',') : [v];
      if (parts.some((part) => RESERVED.test(part)))
        return { problem: { path: `/query/${rule.name}`, message: `Parameter '${rule.name}' must be url encoded. Its value may not contain reserved characters.` } };
    }
  }
  for (const key of Object.keys(parsed)) {
    const rule = rules.get(key);
    if (!rule && !securityNames.has(key)) return { problem: { path: `/query/${key}`, message: `Unknown query parameter '${key}'` } };
    if (parsed[key] === '' && !rule?.allowEmpty) return { problem: { path: `/query/${key}`, message: `Empty value found for query parameter '${key}'` } };
  }
  const out = bare();
  for (const key of Object.keys(parsed)) out[key] = rules.has(key) ? shape(rules.get(key)!, parsed[key]) : parsed[key];
  for (const rule of rules.values()) if (out[rule.name] === undefined && rule.default !== undefined) out[rule.name] = structuredClone(rule.default);
  return { query: out };
}

/**
 * Numbers read from a query string must be finite (integers: safe) and inside their declared
 * range. JSON Schema's coercion lets `Infinity` and `1e400` through as integers, and they used to
 * reach SQL as a 500.
 */
export function finiteNumberProblem(query: Record<string, unknown>, rules: Map<string, QueryParamRule>): Problem | undefined {
  for (const rule of rules.values()) {
    const n = rule.numeric;
    const raw = query[rule.name];
    if (!n || raw === undefined) continue;
    const x = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    const fine = n.type === 'integer' ? Number.isSafeInteger(x) : Number.isFinite(x);
    if (fine && (n.minimum === undefined || x >= n.minimum) && (n.maximum === undefined || x <= n.maximum)) continue;
    const what = `${n.type === 'integer' ? 'an integer' : 'a finite number'}${n.minimum !== undefined ? ` from ${n.minimum}` : ''}${n.maximum !== undefined ? ` to ${n.maximum}` : ''}`;
    return { path: `/query/${rule.name}`, message: `must be ${what}` };
  }
  return undefined;
}
