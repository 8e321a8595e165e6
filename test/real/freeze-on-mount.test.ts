/**
 * Enforcement seen from a real FUSE mount: an admin freeze (HTTP API only: freeze, unfreeze,
 * enforcement) makes new writes fail within the client's heartbeat plus a margin, while reads
 * and deletes go on; an unfreeze lets writes through again; and writing past the hard limit
 * fails in JuiceFS itself, because Headroom formats Capacity = the hard limit. The lags are
 * measured from the API's answer to the first write that behaves accordingly, and printed.
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { request } from '../support/api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JuiceFsCli, mount, unmountAll, type TestMount } from '../support/real/juicefs.js';
import { realAvailable, startStack, type RealEngine, type RealStack } from '../support/real/stack.js';

const HEARTBEAT_S = 1;
/** Apply after commit, the client's jittered reload (±5 %) and a busy two-core machine. */
const MARGIN_MS = 4000;
const HARD = 32 * 1024 * 1024;

/** Tries a fresh small file every 100 ms until `ok(result)` says so; the time taken and the result. */
async function until(dir: string, tag: string, ok: (err: NodeJS.ErrnoException | undefined) => boolean, timeoutMs: number) {
  const t0 = performance.now();
  for (let i = 0; ; i++) {
    let err: NodeJS.ErrnoException | undefined;
    try {
      await writeFile(path.join(dir, `${tag}-${i}`), Buffer.alloc(8192, 1));
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    const ms = performance.now() - t0;
    if (ok(err)) return { ms, err, attempts: i + 1 };
    if (ms > timeoutMs) throw new Error(`${tag}: still ${err ? `failing (${err.code})` : 'succeeding'} after ${Math.round(ms)} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const engines = (['etcd', 'redis'] as const).map((engine) => ({ engine, available: realAvailable(engine, 'juicefs-1.4') }));

describe.each(engines)('freeze seen from a FUSE mount on $engine', ({ engine, available }: { engine: RealEngine; available: boolean }) => {
  if (!available) return void it.skip('needs PostgreSQL, the engine server and juicefs 1.4');
  let s: RealStack;
  let m: TestMount;
  let id: string;

  beforeAll(async () => {
    s = await startStack(engine);
    const v = await s.createVolume('frozen', { quota: { hardBytes: HARD } });
    id = v.id;
    m = await mount(JuiceFsCli.of('juicefs-1.4'), v.metaUrl, { heartbeat: HEARTBEAT_S });
    console.log(`[real] ${engine}: juicefs 1.4 FUSE mount, heartbeat ${HEARTBEAT_S} s`);
  });
  afterAll(async () => {
    await unmountAll();
    await s?.stop();
  });

  const api = (verb: 'freeze' | 'unfreeze', reason: string) => request(s.app.http).post(`/v1/volumes/${id}/${verb}`).set('authorization', s.admin).send({ reason });

  it('an admin freeze stops new writes within a heartbeat, reads and deletes still work, unfreeze lets them through', async () => {
    await writeFile(path.join(m.path, 'keep.txt'), 'before the freeze\n');
    await writeFile(path.join(m.path, 'drop.txt'), 'to be deleted while frozen\n');
    const f = await api('freeze', 'real-mount test');
    expect(f.status, JSON.stringify(f.body)).toBe(200);
    const frozen = await until(m.path, 'while-frozen', (e) => e !== undefined, HEARTBEAT_S * 1000 + MARGIN_MS);
    console.log(`[real] ${engine}: freeze lag ${Math.round(frozen.ms)} ms (${frozen.attempts} attempts), writes fail with ${frozen.err?.code} (errno ${frozen.err?.errno})`);
    expect(frozen.err?.code).toBe('ENOSPC');
    expect(frozen.ms).toBeLessThan(HEARTBEAT_S * 1000 + MARGIN_MS);
    // Still frozen a heartbeat later (not a one-off), reads and deletes unaffected.
    await new Promise((r) => setTimeout(r, HEARTBEAT_S * 1000 + 200));
    await expect(writeFile(path.join(m.path, 'still-frozen'), Buffer.alloc(8192))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await readFile(path.join(m.path, 'keep.txt'), 'utf8')).toBe('before the freeze\n');
    await unlink(path.join(m.path, 'drop.txt'));
    expect((await request(s.app.http).get(`/v1/volumes/${id}/enforcement`).set('authorization', s.admin)).body.state).toBe('frozen');

    const u = await api('unfreeze', 'done');
    expect(u.status, JSON.stringify(u.body)).toBe(200);
    const thawed = await until(m.path, 'after-unfreeze', (e) => e === undefined, HEARTBEAT_S * 1000 + MARGIN_MS);
    console.log(`[real] ${engine}: unfreeze lag ${Math.round(thawed.ms)} ms (${thawed.attempts} attempts)`);
    expect(thawed.ms).toBeLessThan(HEARTBEAT_S * 1000 + MARGIN_MS);
  });

  it('refuses writes past the hard limit in JuiceFS itself (Capacity = hard limit)', async () => {
    const big = path.join(m.path, 'too-big.bin');
    let err: NodeJS.ErrnoException | undefined;
    try {
      await writeFile(big, Buffer.alloc(HARD + 4 * 1024 * 1024, 5));
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    console.log(`[real] ${engine}: writing ${HARD + 4 * 1024 * 1024} B past a ${HARD} B hard limit: ${err ? `${err.code} (errno ${err.errno})` : 'succeeded'}`);
    expect(err?.code).toBe('ENOSPC');
    // A write that fits still works: the limit is the hard quota, not a freeze.
    await writeFile(path.join(m.path, 'fits.bin'), Buffer.alloc(1024 * 1024, 6));
  });
});
