/**
 * Assembles the express app from already-constructed parts. Order matters: request id and
 * logging first, then metrics, health probes, docs, authentication, body parsing, OpenAPI
 * validation, feature routers, and the problem+json error handler last.
 */
import express, { type Router } from 'express';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { VerifySettings } from '../auth/tokens.js';
import { authenticate } from './auth-middleware.js';
import { errorMiddleware, notFoundMiddleware } from './error-middleware.js';
import { errors } from '../lib/errors.js';
import { jsonBodies } from './json-body.js';
import type { HttpMetrics } from './metrics.js';
import { docsRouter, finiteQueryNumbers, openApiValidator } from './openapi.js';
import { requestLog } from './request-log.js';
import { storableStrings } from './storable-strings.js';

/** Everything the HTTP layer needs, built by the composition root. */
export interface HttpAppDeps {
  log: Logger;
  /** Checked by /readyz. */
  db: Knex;
  metrics: HttpMetrics;
  spec: Record<string, unknown>;
  tokens: VerifySettings;
  bodyLimit: string;
  trustProxy: boolean;
  /** Feature routers (full /v1 paths, so metrics see the whole route template), after authentication. */
  routers: Router[];
}

/** Builds the express application (does not listen). */
export function createHttpApp(d: HttpAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // API answers are not cached; hashing every body cost CPU for nothing
  app.set('trust proxy', d.trustProxy);
  app.use(requestLog(d.log));
  app.use(d.metrics.middleware);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res, next) => {
    try {
      await d.db.raw('select 1');
      res.json({ status: 'ok' });
    } catch (err) {
      d.log.warn({ err }, 'readiness check failed');
      next(errors.unavailable('database is not reachable'));
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(d.metrics.registry.contentType).send(await d.metrics.registry.metrics());
  });
  app.use(docsRouter(d.spec));

  // Authenticate before parsing or validating, so an anonymous caller learns nothing about bodies.
  app.use('/v1', authenticate(d.tokens));
  app.use(jsonBodies(d.spec, d.bodyLimit));
  app.use(storableStrings);
  app.use(openApiValidator(d.spec));
  app.use(finiteQueryNumbers(d.spec));
  for (const r of d.routers) app.use(r);
  app.use(notFoundMiddleware);
  app.use(errorMiddleware(d.log, d.bodyLimit));
  return app;
}
