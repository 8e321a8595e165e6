/**
 * The dashboard's API types (web/src/api/schema.d.ts) are generated from openapi/openapi.yaml by
 * `npm run gen:web-types` and checked in; this fails when the spec changed and they were not
 * regenerated, so the pages never compile against an old contract.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

it('web/src/api/schema.d.ts is what openapi-typescript makes of openapi/openapi.yaml', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'headroom-schema-'));
  try {
    const out = path.join(dir, 'schema.d.ts');
    await promisify(execFile)(path.join(root, 'node_modules', '.bin', 'openapi-typescript'), ['openapi/openapi.yaml', '-o', out], { cwd: root });
    const fresh = await readFile(out, 'utf8');
    expect(fresh).toContain('export interface components');
    const committed = await readFile(path.join(root, 'web/src/api/schema.d.ts'), 'utf8');
    expect(committed === fresh, 'web/src/api/schema.d.ts is stale: run `npm run gen:web-types`').toBe(true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 30_000);
