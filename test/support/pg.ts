/**
 * PostgreSQL for e2e tests. Global setup picks a server (TEST_DATABASE_URL, else the local one
 * on 127.0.0.1:5432, else an embedded cluster), migrates a template database once, and each
 * test file clones its own database from that template.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb } from '../../server/db/database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a maintenance database on the chosen server, or '' when none is available. */
    pgAdminUrl: string;
    /** Name of the migrated template database. */
    pgTemplate: string;
  }
}

/** A database of one's own, cloned from the migrated template. */
export interface TestDatabase {
  url: string;
  db: Knex;
  drop(): Promise<void>;
}

/** Replaces the database name in a PostgreSQL URL. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** True when global setup found (or started) a PostgreSQL server. */
export function pgAvailable(): boolean {
  return inject('pgAdminUrl') !== '';
}

/** Runs one statement on the maintenance database. */
export async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Creates `headroom_t_<random>` from the template and opens a knex pool of `poolMax` on it. */
export async function createTestDatabase(poolMax = 20): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const template = inject('pgTemplate');
  const name = `headroom_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name} TEMPLATE ${template}`);
  const url = withDatabase(adminUrl, name);
  const db = createDb(url, poolMax);
  return {
    url,
    db,
    drop: async () => {
      await db.destroy();
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
