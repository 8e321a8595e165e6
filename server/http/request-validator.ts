/**
 * Request validation against the OpenAPI document, compiled once at start (route table and Ajv
 * validators) so a request costs one walk of a segment tree and a few compiled functions. It
 * replaced express-openapi-validator, which compiled a `pathToRegexp` for every route of the
 * spec on every request (a quarter of the API's CPU time in `bench:api`), and keeps its answers:
 *
 * - a path the spec does not have: 404 `not_found`; a known path, another method: 405
 *   `method_not_allowed` with `Allow`;
 * - an operation that takes a body, sent another media type (or none, when the body is
 *   required): 415 `unsupported_media_type`;
 * - path, query and header parameters (coerced from strings per their schema), the JSON body
 *   (never coerced: "42" is not 42), unknown and empty query parameters, unencoded reserved
 *   characters, non-finite numbers: 400 `validation_failed` with the field-level `errors`.
 *
 * After it, `req.params` holds the decoded path parameters and `req.query` the coerced query
 * with defaults filled in; the body has its defaults too.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Request, RequestHandler } from 'express';
import { ApiError, errors } from '../lib/errors.js';
import { finiteNumberProblem, prepareQuery, type Problem } from './query-params.js';
import { compileOperations, type CompiledOperation } from './request-schemas.js';
import { RouteTable } from './route-table.js';

/** Options of {@link requestValidator}. */
export interface RequestValidatorOptions {
  /** Paths served outside the contract (the docs), passed on untouched. */
  ignorePaths?: RegExp;
}

interface PathEntry {
  methods: Map<string, CompiledOperation>;
  allow: string;
}

/** `body.quota.hardBytes must be >= 0; query.limit must be <= 500` from the problems. */
function validationError(problems: Problem[]): ApiError {
  return errors.validation(problems.map((p) => `${p.path.replace(/^\//, '').replace(/\//g, '.')} ${p.message}`).join('; '), problems);
}

/** Ajv's errors as problems: the path names the field (a missing or unknown one included). */
function problemsOf(list: ErrorObject[]): Problem[] {
  return list.map((e) => {
    const p = e.params as { missingProperty?: string; additionalProperty?: string; unevaluatedProperty?: string; allowedValues?: unknown[] };
    const field = p.missingProperty ?? p.additionalProperty ?? p.unevaluatedProperty;
    const message = e.keyword === 'enum' && p.allowedValues ? `${e.message}: ${p.allowedValues.join(', ')}` : (e.message ?? 'is invalid');
    return { path: field !== undefined ? `${e.instancePath}/${field}` : e.instancePath || e.schemaPath, message };
  });
}

/** The decoded path parameters, or the one that is not valid percent-encoding. */
function decodeParams(raw: Record<string, string>): { params: Record<string, string> } | { problem: Problem } {
  const params: Record<string, string> = {};
  for (const name of Object.keys(raw)) {
    try {
      params[name] = decodeURIComponent(raw[name]!);
    } catch {
      return { problem: { path: `/params/${name}`, message: 'is not valid percent-encoding' } };
    }
  }
  return { params };
}

/** The body validator for the request's media type; undefined = nothing to check; an error = 415. */
function bodyValidator(op: CompiledOperation, req: Request): ValidateFunction | ApiError | undefined {
  const body = op.body;
  if (!body) return undefined;
  const header = req.headers['content-type'];
  const mediaType = header ? header.split(';')[0]!.trim().toLowerCase() : '';
  // An exact media type first, then a declared range (`*/*`, `application/*`).
  const inRange = (range: string) => range === '*/*' || (range.endsWith('/*') && mediaType.startsWith(range.slice(0, -1)) && mediaType.length > range.length - 1);
  const hit = body.byMediaType.find((m) => m.mediaType === mediaType) ?? body.byMediaType.find((m) => inRange(m.mediaType));
  if (hit) return hit.validate;
  // An optional body may be left out altogether; anything else must come as a declared type.
  if (!mediaType && !body.required) return undefined;
  return errors.unsupportedMediaType(mediaType ? `unsupported media type ${mediaType}` : 'media type not specified');
}

/** Validates one request to `op`; returns the error to answer with, or undefined. */
function validate(op: CompiledOperation, req: Request, rawParams: Record<string, string>): ApiError | undefined {
  const decoded = decodeParams(rawParams);
  if ('problem' in decoded) return validationError([decoded.problem]);
  const body = bodyValidator(op, req);
  if (body instanceof ApiError) return body;
  const q = req.originalUrl.indexOf('?');
  const prepared = prepareQuery(req.query as Record<string, unknown>, q < 0 ? '' : req.originalUrl.slice(q + 1), op.query, op.securityQuery);
  if ('problem' in prepared) return validationError([prepared.problem]);
  for (const [name, value] of op.headerDefaults) req.headers[name] ??= structuredClone(value) as string;
  const data = { query: prepared.query, headers: req.headers, params: decoded.params };
  const problems = op.parameters(data) ? [] : problemsOf(op.parameters.errors ?? []);
  if (body && !body({ body: req.body as unknown })) problems.push(...problemsOf(body.errors ?? []));
  if (problems.length) return validationError(problems);
  const finite = finiteNumberProblem(data.query, op.query);
  if (finite) return validationError([finite]);
  req.params = data.params;
  // express 5 computes `req.query` in a getter; the coerced copy replaces it for the routes.
  Object.defineProperty(req, 'query', { value: data.query, writable: true, configurable: true, enumerable: true });
  return undefined;
}

/** The validating middleware for `spec` (see the module comment); compiles everything now. */
export function requestValidator(spec: Record<string, unknown>, opts: RequestValidatorOptions = {}): RequestHandler {
  const entries = [...compileOperations(spec)].map(([template, methods]) => ({ template, value: { methods, allow: [...methods.keys()].join(', ') } satisfies PathEntry }));
  const table = new RouteTable(entries);
  return (req, res, next) => {
    const path = req.path;
    if (opts.ignorePaths?.test(path)) return next();
    const match = table.match(path);
    if (!match) return next(errors.routeNotFound(req.method, path));
    const op = match.entry.value.methods.get(req.method);
    if (!op) {
      res.set('Allow', match.entry.value.allow);
      return next(errors.methodNotAllowed(req.method, path));
    }
    next(validate(op, req, match.rawParams));
  };
}
