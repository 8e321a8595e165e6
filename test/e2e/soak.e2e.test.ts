/**
 * The soak run in its short CI form: `npm run soak -- --seconds 20` must meet every target
 * (no 5xx, no unexpected status, a flat heap after GC, no socket left open; RSS is judged on
 * runs of two minutes or more, as the allocator keeps growing for longer than 20 s). The long form is run by hand
 * (README: Reliability).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { pgAvailable } from '../support/pg.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

describe.skipIf(!pgAvailable())('npm run soak (short)', () => {
  it('serves mixed load with passes, walks and notices: no 5xx, flat memory, nothing left open', async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', 'scripts/soak.ts', '--seconds', '20', '--engineers', '3'], { cwd: root, maxBuffer: 10 * 1024 * 1024 }).catch(
      (err: { stdout: string; stderr: string }) => {
        throw new Error(`soak failed:\n${err.stdout}\n${err.stderr}`);
      },
    );
    expect(stdout).toContain('all targets met');
    const served = Number(/requests served {2}: (\d+)/.exec(stdout)?.[1]);
    expect(served).toBeGreaterThan(500);
    expect(stdout).toMatch(/notices received : [1-9]\d* \(webhook\)/);
    expect(stdout).not.toMatch(/\b5\d\d=/);
  }, 120_000);
});
