/**
 * Faults on a real SeaweedFS (`weed server`, test/support/real/weed.ts): the whole process is
 * stopped while a volume is frozen, and again while it is unfrozen, then started on the same data.
 *
 * Held: the decision commits at once whatever SeaweedFS does (the metadata layer is applied, the
 * storage layer's desired rule is recorded); the applier records the filer's error and a retry
 * time, and each pass while it is down retries and records again; after the restart, one pass
 * carries the rule out (filer.conf holds it, or no longer does). `layerStatus` shows desired next
 * to observed throughout. Metadata is on the local engine.
 */
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAvailable } from '../support/pg.js';
import { toolsAvailable } from '../support/real/tools.js';
import { startWeed, type TestWeed, weedEnv } from '../support/real/weed.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const runnable = toolsAvailable('weed');
const BACKOFF_MS = 150;
/** The applier's in-process retries before it leaves a failed layer to the passes. */
const TIMER_RETRIES = 5;

describe.skipIf(!runnable || !pgAvailable())('SeaweedFS stopped and restarted under a freeze and an unfreeze', () => {
  let weed: TestWeed;
  let t: TestApp;
  let admin: string;
  let id: string;
  const prefix = '/buckets/jfs-acme-data/acme-data/';

  beforeAll(async () => {
    weed = await startWeed();
    t = await createTestApp({
      ...weedEnv(weed),
      NOTIFY_TIMEOUT_MS: '2000',
      // A short first backoff: the in-process timer's five retries (150 ms doubling, about 4.7 s)
      // run out while SeaweedFS is down, so what applies the rule after the restart is the pass.
      ENFORCE_APPLY_BACKOFF_MS: String(BACKOFF_MS),
    });
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme' });
    const res = await request(t.http).post('/v1/tenants/acme/volumes').set('authorization', admin).send({ name: 'data', quota: {} });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    id = res.body.id;
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    await weed?.stop();
  }, 60_000);

  const ruleFor = async (): Promise<{ readOnly?: boolean } | undefined> => {
    const res = await fetch(`${weed.filerUrl}/etc/seaweedfs/filer.conf`);
    const text = res.status === 404 ? '' : await res.text();
    const conf = (text ? JSON.parse(text) : { locations: [] }) as { locations?: { locationPrefix: string; readOnly?: boolean }[] };
    return conf.locations?.find((l) => l.locationPrefix === prefix);
  };
  const view = async () => {
    const r = await request(t.http).get(`/v1/volumes/${id}/enforcement`).set('authorization', admin);
    expect(r.status).toBe(200);
    return r.body;
  };
  const layerRow = async () =>
    (await t.database.db('enforcement_layers').where({ volume_id: id, layer: 'storage' }).first()) as { attempts: number; last_error: string | null; last_error_at: Date; retry_at: Date | null };

  /** While SeaweedFS is down: the decision `action` commits, the storage layer lags and says why. */
  async function decideWhileDown(action: 'freeze' | 'unfreeze', frozen: boolean): Promise<number> {
    // SIGKILL: stopped as a crash would stop it, its data kept.
    await weed.halt('SIGKILL');
    const t0 = Date.now();
    const r = await request(t.http).post(`/v1/volumes/${id}/${action}`).set('authorization', admin).send({ reason: 'SeaweedFS drill' });
    const ms = Date.now() - t0;
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const v = await view();
    expect(v.state).toBe(frozen ? 'frozen' : 'ok');
    expect(v.layers).toEqual({ metadata: frozen, storage: frozen });
    // JuiceFS (local engine) took the decision; the filer did not.
    expect(v.layerStatus.metadata).toMatchObject({ inSync: true, lastError: null });
    expect(v.layerStatus.storage).toMatchObject({ desired: { frozen }, inSync: false, lastError: expect.any(String), retryAt: expect.any(String) });
    expect(v.layerStatus.storage.appliedGeneration).toBeLessThan(v.layerStatus.storage.generation);
    // The applier retries on its timer, each wait twice the last, until it leaves it to the passes.
    // The failure and its retry time are two statements (knex-layer-store recordApplyFailure), so
    // a sample may fall between them: the last sample of each attempt is the one that counts.
    const waits = new Map<number, number>();
    for (let i = 0, settled = 0; i < 200 && settled < 3; i++) {
      const row = await layerRow();
      if (row.retry_at) waits.set(row.attempts, new Date(row.retry_at).getTime() - new Date(row.last_error_at).getTime());
      if (row.attempts > TIMER_RETRIES) settled++;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect([...waits.keys()]).toContain(TIMER_RETRIES + 1);
    for (let n = 2; n <= TIMER_RETRIES + 1; n++) if (waits.has(n) && waits.has(n - 1)) expect(waits.get(n)!, `wait after attempt ${n}`).toBe(waits.get(n - 1)! * 2);
    // A pass while it is down cannot read filer.conf: it counts the volume unverified and leaves
    // the decision as it is (nothing is undone, nothing half-applied).
    const pass = await t.services.enforcement.countersPass();
    expect(pass).toMatchObject({ verifyFailed: 1, transitions: 0 });
    expect((await view()).layerStatus.storage).toMatchObject({ desired: { frozen }, inSync: false, lastError: expect.any(String) });
    return ms;
  }

  /** After the restart: one pass carries the rule out and the layer is in sync. */
  async function onePassAfterRestart(frozen: boolean): Promise<{ restartMs: number; passMs: number }> {
    const t0 = Date.now();
    await weed.restart();
    const restartMs = Date.now() - t0;
    const t1 = Date.now();
    await t.services.enforcement.countersPass();
    const passMs = Date.now() - t1;
    const rule = await ruleFor();
    if (frozen) expect(rule).toMatchObject({ readOnly: true });
    else expect(rule).toBeUndefined();
    const v = await view();
    expect(v.layerStatus.storage).toMatchObject({ desired: { frozen }, observed: { frozen }, inSync: true, lastError: null, retryAt: null });
    expect((await layerRow()).attempts).toBe(0);
    return { restartMs, passMs };
  }

  it('freeze and unfreeze while it is down: committed, error recorded and retried; after restart one pass applies each', async () => {
    expect(await ruleFor()).toBeUndefined();
    const freezeMs = await decideWhileDown('freeze', true);
    const up1 = await onePassAfterRestart(true);
    const unfreezeMs = await decideWhileDown('unfreeze', false);
    const up2 = await onePassAfterRestart(false);
    console.info(
      `[faults-seaweedfs] freeze answered in ${freezeMs} ms while down, applied by the first pass (${up1.passMs} ms) after a ${up1.restartMs} ms restart; ` +
        `unfreeze answered in ${unfreezeMs} ms, applied by the first pass (${up2.passMs} ms) after a ${up2.restartMs} ms restart`,
    );
  });
});
