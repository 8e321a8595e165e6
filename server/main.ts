/**
 * Process entry: load config, open the database (embedded when DATABASE_URL is unset), migrate,
 * build the app, listen, and shut everything down cleanly on SIGINT/SIGTERM.
 */
import type { Server } from 'node:http';
import { pino } from 'pino';
import { buildApp } from './app.js';
import { resolveJwtSecret, resolveStorageSecret, resolveWebhookSecret } from './auth/resolve-secret.js';
import { ConfigError, loadConfig } from './config.js';
import { createDb } from './db/database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded-postgres.js';
import { migrateLatest } from './db/migrations.js';

async function main(): Promise<void> {
  let config;
  try {
    // The one place the environment is handed over: config.ts parses it, nobody else reads it.
    // eslint-disable-next-line no-restricted-properties
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = pino({ level: config.logLevel });
  let embedded: EmbeddedDatabase | undefined;
  if (!config.database.url) embedded = await startEmbeddedPostgres(config.dataDir, config.database.embeddedPort, log);
  const db = createDb(config.database.url ?? embedded!.url, config.database.poolMax);
  const healthDb = createDb(config.database.url ?? embedded!.url, 1);
  const applied = await migrateLatest(db);
  if (applied.length) log.info({ applied }, 'migrations applied');
  const jwtSecret = await resolveJwtSecret(config);
  const webhookSecret = await resolveWebhookSecret(config);
  const storageSecretKey = config.storage ? await resolveStorageSecret(config) : undefined;
  const app = buildApp({ config, log, db, healthDb, jwtSecret, webhookSecret, storageSecretKey });
  await app.start();

  const server: Server = await new Promise((resolve) => {
    const s = app.http.listen(config.http.port, config.http.host, () => resolve(s));
  });
  log.info(
    { port: config.http.port, database: embedded ? 'embedded' : 'DATABASE_URL' },
    `Headroom listening on http://localhost:${config.http.port} — mint a token with: npm run token -- --role admin --sub you`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000).unref();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await app.close();
    await db.destroy();
    await healthDb.destroy();
    if (embedded) await embedded.stop();
    clearTimeout(force);
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error('Headroom failed to start:', err);
  process.exit(1);
});
