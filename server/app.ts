/**
 * Composition root: constructs every part once, in order, and wires them together. No logic
 * lives here beyond choosing what to construct; tests build the same app with their own config.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { auditRoutes } from './audit/audit-routes.js';
import type { TokenSettings } from './auth/tokens.js';
import type { AppConfig } from './config.js';
import { createHttpApp } from './http/create-http-app.js';
import { createHttpMetrics } from './http/metrics.js';
import { loadSpec } from './http/openapi.js';
import { TenantService } from './tenants/tenant-service.js';
import { tenantRoutes } from './tenants/tenant-routes.js';
import type { MetadataProvisioner } from './volumes/metadata-provisioner.js';
import { VolumeService } from './volumes/volume-service.js';
import { volumeRoutes } from './volumes/volume-routes.js';

/** External resources the app runs on, opened by `main.ts` (or a test). */
export interface AppResources {
  config: AppConfig;
  log: Logger;
  db: Knex;
  jwtSecret: string;
  provisioner?: MetadataProvisioner;
}

/** Builds services and the HTTP app. */
export function buildApp(r: AppResources) {
  const tokens: TokenSettings = { secret: r.jwtSecret, issuer: r.config.auth.issuer };
  const tenants = new TenantService(r.db);
  const volumes = new VolumeService(r.db, r.config, r.provisioner);
  const http = createHttpApp({
    log: r.log,
    db: r.db,
    metrics: createHttpMetrics(),
    spec: loadSpec(),
    tokens,
    bodyLimit: r.config.http.bodyLimit,
    trustProxy: r.config.http.trustProxy,
    routers: [tenantRoutes(tenants), volumeRoutes(r.db, volumes), auditRoutes(r.db)],
  });
  return { http, tokens, services: { tenants, volumes } };
}
