/**
 * A PostgreSQL cluster of one test file's own, on a free port in a temp dir, that the test can
 * stop (as a crash: `pg_ctl stop -m immediate`) and start again on the same data. The shared
 * server of global setup cannot be restarted under the other files, hence this.
 *
 * As root: PostgreSQL refuses to run as root, so initdb and pg_ctl run as the `postgres` user
 * (`runuser`), as server/db/embedded-postgres.ts does for Headroom's own cluster.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { createDb } from '../../server/db/database.js';
import { migrateLatest } from '../../server/db/migrations.js';
import type { TestDatabase } from './pg.js';
import { freePort, requireServer } from './servers.js';

const run = promisify(execFile);

/** A private cluster started by a test. */
export interface PrivatePg {
  port: number;
  /** URL of database `name` on this cluster. */
  url(name: string): string;
  /** Stops it at once, as a crash would (no checkpoint; connections are cut). */
  crash(): Promise<void>;
  /** Starts it again on the same data after {@link crash}; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

/** The folder holding pg_ctl and initdb (`PG_BIN` overrides), if installed. */
export function pgBinDir(): string | undefined {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

/** Whether a private cluster can be started (throws under CI when it cannot). */
export function privatePgAvailable(): boolean {
  const asRoot = process.getuid?.() === 0;
  const userOk = !asRoot || spawnSync('id', ['-u', 'postgres']).status === 0;
  return requireServer('PostgreSQL binaries (pg_ctl, initdb; apt-get install -y postgresql)', pgBinDir() !== undefined && userOk);
}

/** Initialises and starts a private cluster (trust auth on loopback, fsync off). */
export async function startPrivatePg(): Promise<PrivatePg> {
  const bin = pgBinDir();
  if (!bin) throw new Error('pg_ctl not found');
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'headroom-privpg-'));
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    await chown(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  const as = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]) : run(path.join(bin, cmd), args));
  await as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off -c full_page_writes=off`;
  const start = async () => {
    await as('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '30', 'start']);
  };
  const stop = async (mode: 'immediate' | 'fast') => {
    await as('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']).catch(() => undefined);
  };
  await start();
  return {
    port,
    url: (name) => `postgres://postgres@127.0.0.1:${port}/${name}`,
    crash: () => stop('immediate'),
    start,
    destroy: async () => {
      await stop('immediate');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Creates database `name` on the cluster and migrates it; a {@link TestDatabase} over it. */
export async function createPrivateDatabase(cluster: PrivatePg, name = 'headroom', poolMax = 10): Promise<TestDatabase> {
  const c = new pg.Client({ connectionString: cluster.url('postgres') });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const db = createDb(cluster.url(name), poolMax);
  await migrateLatest(db);
  return { url: cluster.url(name), db, drop: () => db.destroy() };
}
