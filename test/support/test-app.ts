/** Builds a real Headroom app on a fresh test database, with a token minter. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { buildApp } from '../../server/app.js';
import { signToken } from '../../server/auth/tokens.js';
import { loadConfig } from '../../server/config.js';
import { createDb } from '../../server/db/database.js';
import type { MetadataProvisioner } from '../../server/volumes/metadata-provisioner.js';
import type { VolumeMetadata } from '../../server/meta/volume-metadata.js';
import { createTestDatabase, type TestDatabase } from './pg.js';

/** Secret used by every test app; tests that forge tokens use another. */
export const testSecret = 'test-secret-test-secret-test-secret-0123';

/** Key that seals the test app's storage secrets. */
export const testStorageSecret = 'test-storage-secret-0123456789-0123456789';

/** Key that signs the test app's webhooks. */
export const testWebhookSecret = 'test-webhook-secret-0123456789';

/** A running-in-process app plus helpers. */
export interface TestApp {
  http: ReturnType<typeof buildApp>['http'];
  database: TestDatabase;
  dataDir: string;
  services: ReturnType<typeof buildApp>['services'];
  config: ReturnType<typeof loadConfig>;
  token(role: string, sub?: string, tenants?: string[]): string;
  close(): Promise<void>;
}

/** Creates a test database and an app on it; `env` overrides configuration. */
export async function createTestApp(
  env: Record<string, string> = {},
  provisioner?: MetadataProvisioner,
  opts: { log?: Logger; wrapMetadata?: (real: VolumeMetadata) => VolumeMetadata; poolMax?: number; database?: TestDatabase } = {},
): Promise<TestApp> {
  // A database on a server of the test's own (test/support/private-pg.ts), or a clone of the template.
  const database = opts.database ?? (await createTestDatabase(opts.poolMax));
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'headroom-app-'));
  // Test receivers listen on loopback: allowed here, refused by default (see outbound-guard tests).
  const config = loadConfig({
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    LOG_LEVEL: 'silent',
    SCHEDULER_ENABLED: 'false',
    OUTBOUND_ALLOW: '127.0.0.1,::1',
    // High enough that no suite (the fuzz suite sends thousands) trips the limiter it still runs through.
    RATE_LIMIT_ANONYMOUS: '1000000',
    RATE_LIMIT_AUTHENTICATED: '1000000',
    ...env,
  });
  const healthDb = createDb(database.url, 1);
  const app = buildApp({
    config: config,
    log: opts.log ?? pino({ level: 'silent' }),
    db: database.db,
    healthDb,
    jwtSecret: testSecret,
    webhookSecret: testWebhookSecret,
    storageSecretKey: testStorageSecret,
    provisioner,
    wrapMetadata: opts.wrapMetadata,
  });
  return {
    http: app.http,
    database,
    dataDir,
    token: (role, sub = `${role}-user`, tenants) => signToken({ secret: testSecret, issuer: config.auth.issuer }, { sub, role, tenants }),
    services: app.services,
    config,
    close: async () => {
      await app.close();
      await healthDb.destroy();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
