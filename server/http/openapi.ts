/**
 * The OpenAPI document in `openapi/openapi.yaml` is the contract: it is served as JSON, rendered
 * at /docs, and every request is validated against it before a route sees it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler, type Router } from 'express';
import swaggerUiDist from 'swagger-ui-dist';
import { parse } from 'yaml';
import { requestValidator } from './request-validator.js';

/** Absolute path of the spec file. */
export const specPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../openapi/openapi.yaml');

/** The spec as a plain object (read once per call; callers keep it). */
export function loadSpec(): Record<string, unknown> {
  return parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
}

/** Paths served outside the contract: the spec itself and the docs pages. */
const DOCS_PATHS = /^\/(docs|openapi\.json)(\/|$)/;

/**
 * Request validation: unknown body fields, unknown query parameters, wrong types and
 * out-of-range numbers are rejected with 400 before any handler runs, so nothing is written.
 * Compiled once from `spec` (see `request-validator.ts`).
 */
export function openApiValidator(spec: Record<string, unknown>): RequestHandler {
  return requestValidator(spec, { ignorePaths: DOCS_PATHS });
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
