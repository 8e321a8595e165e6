/**
 * Runs the knex migrations in `migrations/`. A custom migration source lists the folder and
 * imports each file itself, so the same code works under tsx, vitest and compiled JS.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Knex } from 'knex';

const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Migrations are named by their source file (`…_create_tenants.ts`) in knex_migrations, whether
 * they run from source (tsx, vitest) or compiled (`npm run build`: `….js` under dist/), so a
 * database migrated by one is up to date for the other.
 */
const source: Knex.MigrationSource<string> = {
  async getMigrations() {
    const files = await readdir(migrationsDir);
    return files.filter((f) => /^\d{14}_[a-z0-9_]+\.(ts|js)$/.test(f)).sort();
  },
  getMigrationName(name) {
    return name.replace(/\.js$/, '.ts');
  },
  async getMigration(name) {
    return (await import(pathToFileURL(path.join(migrationsDir, name)).href)) as MigrationModule;
  },
};

const options: Knex.MigratorConfig = { migrationSource: source, tableName: 'knex_migrations' };

/** Applies every pending migration; returns the names applied. */
export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(options)) as [number, string[]];
  return applied;
}

/** Rolls back every migration (tests and `npm run migrate -- down`). */
export async function migrateDownAll(db: Knex): Promise<string[]> {
  const [, reverted] = (await db.migrate.rollback(options, true)) as [number, string[]];
  return reverted;
}
