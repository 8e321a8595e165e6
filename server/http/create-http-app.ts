/**
 * Assembles the express app from already-constructed parts. Order matters: request id and
 * logging first, then metrics, health probes, docs, authentication, body parsing, OpenAPI
 * validation, feature routers, and the problem+json error handler last.
 */
import { timingSafeEqual } from 'node:crypto';
import express, { type Router } from 'express';
import helmet from 'helmet';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { VerifySettings } from '../auth/tokens.js';
import { authenticate } from './auth-middleware.js';
import { errorMiddleware, notFoundMiddleware } from './error-middleware.js';
import { errors } from '../lib/errors.js';
import { jsonBodies } from './json-body.js';
import type { HttpMetrics } from './metrics.js';
import { rateLimitMiddleware, type RateLimiter } from './rate-limit.js';
import { docsRouter, openApiValidator } from './openapi.js';
import { requestLog } from './request-log.js';
import { webUiRouter } from './web-ui.js';
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
  /** Bearer token /metrics requires, when set. */
  metricsToken?: string;
  /** Per-address and per-principal request limits; none = unlimited. */
  rateLimiter?: RateLimiter;
  /** Feature routers (full /v1 paths, so metrics see the whole route template), after authentication. */
  routers: Router[];
}

/** Builds the express application (does not listen). */
export function createHttpApp(d: HttpAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // API answers are not cached; hashing every body cost CPU for nothing
  app.set('trust proxy', d.trustProxy);
  // Security headers on every answer; the CSP allows only this origin (the docs page included:
  // its script is served as a file, not inline).
  app.use(
    helmet({
      contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'], connectSrc: ["'self'"] } },
    }),
  );
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
      next(errors.unavailable('PostgreSQL is not reachable', 'PostgreSQL'));
    }
  });
  app.get('/metrics', async (req, res, next) => {
    if (d.metricsToken && !bearerMatches(req.header('authorization'), d.metricsToken)) return next(errors.unauthenticated('/metrics needs the METRICS_TOKEN bearer token'));
    res.type(d.metrics.registry.contentType).send(await d.metrics.registry.metrics());
  });
  app.use(docsRouter(d.spec));
  // The web dashboard's static pages (no token needed to load them; their API calls need one).
  app.use(webUiRouter());

  // API answers may carry secrets (new storage keys, mount instructions) and are never meant to
  // be cached by a proxy or a browser; a route that knows better sets its own.
  app.use('/v1', (_req, res, next) => {
    res.set('cache-control', 'no-store');
    next();
  });
  // Rate limits (probes, /metrics, docs and pages are not counted): calls without a token by
  // address before authentication, calls with one by principal after it, bad tokens by address.
  const limits = d.rateLimiter ? rateLimitMiddleware(d.rateLimiter) : undefined;
  if (limits) app.use(limits.beforeAuth);
  // Authenticate before parsing or validating, so an anonymous caller learns nothing about bodies.
  app.use('/v1', authenticate(d.tokens));
  if (limits) app.use('/v1', limits.onAuthFailure, limits.afterAuth);
  app.use(jsonBodies(d.spec, d.bodyLimit));
  app.use(storableStrings);
  app.use(openApiValidator(d.spec));
  for (const r of d.routers) app.use(r);
  app.use(notFoundMiddleware);
  app.use(errorMiddleware(d.log, d.bodyLimit));
  return app;
}

/** Compares a bearer header with the expected token in constant time. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const got = Buffer.from(header?.replace(/^Bearer\s+/i, '') ?? '');
  const want = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}
