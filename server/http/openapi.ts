/**
 * The OpenAPI document in `openapi/openapi.yaml` is the contract: it is served as JSON, rendered
 * at /docs, and every request is validated against it before a route sees it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler, type Router } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import swaggerUiDist from 'swagger-ui-dist';
import { parse } from 'yaml';
import { errors } from '../lib/errors.js';

/** Absolute path of the spec file. */
export const specPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../openapi/openapi.yaml');

/** The spec as a plain object (read once per call; callers keep it). */
export function loadSpec(): Record<string, unknown> {
  return parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
}

/**
 * Request validation: unknown body fields, unknown query parameters, wrong types and
 * out-of-range numbers are rejected with 400 before any handler runs, so nothing is written.
 */
export function openApiValidator(spec: Record<string, unknown>) {
  return OpenApiValidator.middleware({
    // The validator mutates what it is given (it dereferences); give it its own copy.
    apiSpec: structuredClone(spec) as never,
    // Bodies are never coerced ("42" is not 42); query and path parameters always are.
    validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false },
    validateResponses: false,
    validateSecurity: false,
    validateFormats: true,
    ignorePaths: /^\/(docs|openapi\.json)(\/|$)/,
  });
}

interface QueryParam {
  $ref?: string;
  name: string;
  in: string;
  schema?: { $ref?: string; type?: string; minimum?: number; maximum?: number };
}

/**
 * The validator coerces query strings with JSON Schema's number rules, under which `Infinity`
 * passes as an integer and reaches SQL as a 500. After it, every numeric query parameter of the
 * matched operation must be a finite (for integers, safe) number inside its declared range.
 */
export function finiteQueryNumbers(spec: Record<string, unknown>): RequestHandler {
  // Parameters and their schemas may be `$ref`s into the spec (the validator leaves them so).
  const deref = <T>(x: T & { $ref?: string }): T =>
    x.$ref
      ? (x.$ref
          .replace(/^#\//, '')
          .split('/')
          .reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], spec) as T)
      : x;
  return (req, _res, next) => {
    const op = (req as unknown as { openapi?: { schema?: { parameters?: QueryParam[] } } }).openapi?.schema;
    for (const ref of op?.parameters ?? []) {
      const p = deref(ref);
      const schema = p?.schema && deref(p.schema);
      const t = schema?.type;
      if (!p || !schema || p.in !== 'query' || (t !== 'integer' && t !== 'number')) continue;
      const raw = (req.query as Record<string, unknown>)[p.name];
      if (raw === undefined) continue;
      const x = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      const fine = t === 'integer' ? Number.isSafeInteger(x) : Number.isFinite(x);
      const inRange = fine && (schema.minimum === undefined || x >= schema.minimum) && (schema.maximum === undefined || x <= schema.maximum);
      if (!inRange) {
        const what = `${t === 'integer' ? 'an integer' : 'a finite number'}${schema.minimum !== undefined ? ` from ${schema.minimum}` : ''}${schema.maximum !== undefined ? ` to ${schema.maximum}` : ''}`;
        return next(errors.validation(`query.${p.name} must be ${what}`, [{ path: `/query/${p.name}`, message: `must be ${what}` }]));
      }
    }
    next();
  };
}

/** `/openapi.json` and `/docs` (Swagger UI from the swagger-ui-dist package, no CDN). */
export function docsRouter(spec: Record<string, unknown>): Router {
  const router = express.Router();
  const json = JSON.stringify(spec);
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(json);
  });
  router.get(['/docs', '/docs/'], (_req, res) => {
    res.type('html').send(`<!doctype html>
<html><head><meta charset="utf-8"><title>Headroom API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>`);
  });
  // A file, not an inline script, so the Content-Security-Policy needs no 'unsafe-inline'.
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send("window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });\n");
  });
  router.use('/docs/assets', express.static(swaggerUiDist.getAbsoluteFSPath(), { index: false }));
  return router;
}
