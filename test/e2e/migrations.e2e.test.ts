import { readdirSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDownAll, migrateLatest } from '../../server/db/migrations.js';
import { createTestDatabase, pgAvailable, type TestDatabase } from '../support/pg.js';

async function tables(d: TestDatabase): Promise<string[]> {
  const r = await d.db.raw(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'knex_%' ORDER BY 1`);
  return (r.rows as { tablename: string }[]).map((x) => x.tablename);
}

const migrationsDir = path.resolve(import.meta.dirname, '../../migrations');

describe.skipIf(!pgAvailable())('migrations', () => {
  let d: TestDatabase;
  beforeAll(async () => {
    d = await createTestDatabase();
  });
  afterAll(() => d?.drop());

  it('run up, down and up again cleanly', async () => {
    // Every table some migration creates (each is plain SQL, CREATE TABLE IF NOT EXISTS), and no other.
    // A later migration may rename one (`ALTER TABLE old RENAME TO new`): the new name counts.
    const sql = readdirSync(migrationsDir)
      .sort()
      .map((f) => readFileSync(path.join(migrationsDir, f), 'utf8'));
    const created = new Set(sql.flatMap((s) => [...s.matchAll(/CREATE TABLE IF NOT EXISTS ([a-z_]+)/g)].map((m) => m[1]!)));
    for (const [, from, to] of sql.flatMap((s) => [...s.matchAll(/ALTER TABLE ([a-z_]+) RENAME TO ([a-z_]+);[\s\S]*?export async function down/g)])) {
      created.delete(from!);
      created.add(to!);
    }
    const expected = [...created].sort();
    expect(expected).toEqual(expect.arrayContaining(['audit_events', 'enforcement_layers', 'volume_prefixes', 'volumes', 'walks']));
    expect(expected).not.toContain('scans');
    expect(await tables(d)).toEqual(expected); // the template is already migrated
    expect(await migrateLatest(d.db)).toEqual([]);
    const reverted = await migrateDownAll(d.db);
    // Every migration in the folder, newest first.
    const files = (await readdir(path.resolve(import.meta.dirname, '../../migrations')))
      .filter((f) => /^\d{14}_\w+\.ts$/.test(f))
      .sort()
      .reverse();
    expect(reverted).toEqual(files);
    expect(await tables(d)).toEqual([]);
    const applied = await migrateLatest(d.db);
    expect(applied).toEqual([...reverted].reverse());
    expect(await tables(d)).toEqual(expected);
  });

  it('the prefix ledger rejects a duplicate even when written directly', async () => {
    await d.db('volume_prefixes').insert({ prefix: 'dup', volume_id: 'vol_a' });
    await expect(d.db('volume_prefixes').insert({ prefix: 'dup', volume_id: 'vol_b' })).rejects.toThrow(/duplicate key/);
  });
});
