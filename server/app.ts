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
import { EngineRegistry } from './meta/engine-registry.js';
import { JuiceFsMetadata } from './meta/juicefs-metadata.js';
import { ScanService } from './scanner/scan-service.js';
import { scanRoutes } from './scanner/scan-routes.js';
import type { MetadataProvisioner } from './volumes/metadata-provisioner.js';
import type { VolumeMetadata } from './volumes/volume-metadata.js';
import { VolumeService } from './volumes/volume-service.js';
import { volumeRoutes } from './volumes/volume-routes.js';

/** External resources the app runs on, opened by `main.ts` (or a test). */
export interface AppResources {
  config: AppConfig;
  log: Logger;
  db: Knex;
  jwtSecret: string;
  /** Replaces the JuiceFS metadata access (tests of failure paths). */
  metadata?: VolumeMetadata;
  /** Replaces only the formatting step of onboarding (tests of failure paths). */
  provisioner?: MetadataProvisioner;
}

/** Builds services and the HTTP app. */
export function buildApp(r: AppResources) {
  const tokens: TokenSettings = { secret: r.jwtSecret, issuer: r.config.auth.issuer };
  const tenants = new TenantService(r.db);
  const engines = new EngineRegistry();
  const m = r.config.meta;
  const metadata = r.metadata ?? new JuiceFsMetadata(engines, { objectsDir: m.objectsDir, trashDays: m.trashDays, version: m.formatVersion });
  const volumes = new VolumeService(r.db, r.config, r.provisioner ?? metadata, metadata);
  const scans = new ScanService(r.db, r.log, volumes, metadata);
  const http = createHttpApp({
    log: r.log,
    db: r.db,
    metrics: createHttpMetrics(),
    spec: loadSpec(),
    tokens,
    bodyLimit: r.config.http.bodyLimit,
    trustProxy: r.config.http.trustProxy,
    routers: [tenantRoutes(tenants), volumeRoutes(r.db, volumes), scanRoutes(scans), auditRoutes(r.db)],
  });
  /** Stops background walks and closes engine clients; the caller closes the database. */
  const close = async () => {
    await scans.close();
    await engines.close();
  };
  return { http, tokens, services: { tenants, volumes, scans }, close };
}
