/**
 * Process entry: load config, open the database (embedded when DATABASE_URL is unset), migrate,
 * build the app, listen, and shut everything down cleanly on SIGINT/SIGTERM.
 */
import type { Server } from 'node:http';
import type { Knex } from 'knex';
import { pino, type Logger } from 'pino';
import { buildApp } from './app.js';
import { resolveJwtSecret, resolveStorageSecret, resolveWebhookSecret } from './auth/resolve-secret.js';
import { ConfigError, loadConfig, type AppConfig } from './config.js';
import { createDb } from './db/database.js';
import { EmbeddedStartError, startEmbeddedPostgres, takeOverSignals, type EmbeddedDatabase } from './db/embedded-postgres.js';
import { migrateLatest } from './db/migrations.js';
import { loopbackTaken } from './lib/net.js';

/** A reason not to start that the operator can act on, printed as one line. */
class StartError extends Error {}

type App = ReturnType<typeof buildApp>;

/** What `main` opened, in the order it closes them. */
interface Opened {
  app: App;
  db: Knex;
  healthDb: Knex;
  embedded?: EmbeddedDatabase;
}

async function main(): Promise<void> {
  const config = readConfig();
  const log = pino({ level: config.logLevel });
  // Before anything starts: a server already answering on the port would get our clients.
  const taken = await loopbackTaken(config.http.port);
  if (taken) throw new StartError(`port ${config.http.port} is already in use (something answers on ${taken}); stop it or set PORT`);
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

  const opened: Opened = { app, db, healthDb, embedded };
  const server = await listen(config, opened);
  log.info(
    { port: config.http.port, database: embedded ? 'embedded' : 'DATABASE_URL' },
    `Headroom listening on http://localhost:${config.http.port} — mint a token with: npm run token -- --role admin --sub you`,
  );
  stopOnSignals(log, server, opened);
}

/** The configuration, or exit 2 with the operator's one-line reason. */
function readConfig(): AppConfig {
  try {
    // The one place the environment is handed over: config.ts parses it, nobody else reads it.
    // eslint-disable-next-line no-restricted-properties
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/** Listens on the configured port; on failure closes everything opened and rethrows. */
async function listen(config: AppConfig, { app, db, healthDb, embedded }: Opened): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    const s = app.http.listen(config.http.port, config.http.host, () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new StartError(`port ${config.http.port} is already in use on ${config.http.host}; stop what holds it or set PORT`) : err),
    );
  }).catch(async (err: unknown) => {
    // Nothing may outlive a failed start: close what was opened, the embedded database last.
    await app.close().catch(() => undefined);
    await db.destroy().catch(() => undefined);
    await healthDb.destroy().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw err;
  });
}

/** Shuts down cleanly on SIGINT/SIGTERM/SIGHUP, or when the parent process goes. */
function stopOnSignals(log: Logger, server: Server, { app, db, healthDb, embedded }: Opened): void {
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
  takeOverSignals();
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGHUP', () => void shutdown('SIGHUP'));
  // `npm start &` then `kill $!` stops npm, which does not pass the signal on: the server would
  // run on, orphaned. Whatever wrapped it, when the process that started us goes, so do we.
  const parent = process.ppid;
  if (parent > 1) setInterval(() => process.ppid !== parent && void shutdown('parent exited'), 1000).unref();
}

main().catch((err: unknown) => {
  // One line at any log level; the stack only when it is not one of the reasons we name.
  const known = err instanceof StartError || err instanceof EmbeddedStartError;
  console.error(`Headroom failed to start: ${err instanceof Error ? err.message : String(err)}`);
  if (!known && err instanceof Error && err.stack) console.error(err.stack);
  process.exit(1);
});
