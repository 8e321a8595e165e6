/**
 * The enforcement passes keep state and layer rows between passes (server/enforcement/pass-rows.ts).
 * Correctness beats speed: a row changed between two passes, by an API call on this instance or by
 * another instance on the same database, must be what the next pass decides and verifies on. On
 * real PostgreSQL and the local engine; each case would fail with rows kept without their version
 * being checked (the comments say how).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { createDb, type Db } from '../../server/db/database.js';
import { findState, loadStatesVersioned, markForecastChecked } from '../../server/enforcement/enforcement-store.js';
import { KnexLayerStore } from '../../server/enforcement/knex-layer-store.js';
import { layerKey } from '../../server/enforcement/layer-store.js';
import { setFailpoints } from '../../server/lib/failpoints.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { engineAvailable, startEngine, type EngineUnderTest } from '../support/engines.js';
import { createTestApp, testSecret, testWebhookSecret, type TestApp } from '../support/test-app.js';

const MB = 1_000_000;

describe('rows kept between enforcement passes', () => {
  if (!engineAvailable('local')) return void it.skip('needs PostgreSQL');
  let t: TestApp;
  let eng: EngineUnderTest;
  let admin: string;
  /** A second pool on the same database: another instance's writes. */
  let other: Db;

  beforeAll(async () => {
    eng = await startEngine('local');
    t = await createTestApp(eng.env);
    other = createDb(t.database.url, 2);
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'carol', displayName: 'Carol', email: 'carol@example.com' });
  });
  afterAll(async () => {
    await other?.destroy();
    await t?.close();
    await eng?.stop();
  });

  /** A volume holding 50 MB of its 120 MB hard limit, passed over once (its rows are now kept). */
  async function steadyVolume(name: string) {
    const body = await buildVolume(t.http, admin, 'carol', { name, quota: { softBytes: 100 * MB, hardBytes: 120 * MB, graceSeconds: 86_400 } });
    const h = eng.handle(body.id, body.metaUrl);
    await h.fx.file(await h.fx.mkdir(ROOT_INODE, 'data'), 'a.bin', 50 * MB);
    await h.fx.finish();
    await pass();
    await pass();
    return h;
  }
  const pass = (now = new Date()) => t.services.enforcement.countersPass({ now });
  const layer = async (id: string) => (await new KnexLayerStore(t.database.db).load([id])).get(layerKey(id, 'metadata'));

  it('verifies a volume frozen through the API on the very next pass', async () => {
    const h = await steadyVolume('api-frozen');
    const f = await request(t.http).post(`/v1/volumes/${h.id}/freeze`).set('authorization', admin).send({ reason: 'incident' });
    expect(f.status, JSON.stringify(f.body)).toBe(200);
    // Frozen volumes are verified every pass; the kept `ok` row would say it is not due yet.
    const at = new Date(Date.now() + 1000);
    await pass(at);
    expect((await layer(h.id))?.verifiedAt?.getTime()).toBe(at.getTime());
    expect((await findState(t.database.db, h.id))?.state).toBe('frozen');
  });

  it('carries out a decision another instance committed but could not apply', async () => {
    const h = await steadyVolume('other-instance');
    const before = await h.capacity();
    // Instance B, on the same database and engine, freezes the volume and fails right after commit.
    const b = buildApp({
      config: loadConfig({ DATA_DIR: t.dataDir, DATABASE_URL: t.database.url, LOG_LEVEL: 'silent', SCHEDULER_ENABLED: 'false', FAILPOINTS: 'freeze.after-commit=error', ...eng.env }),
      log: pino({ level: 'silent' }),
      db: other,
      jwtSecret: testSecret,
      webhookSecret: testWebhookSecret,
    });
    try {
      const f = await request(b.http).post(`/v1/volumes/${h.id}/freeze`).set('authorization', admin).send({ reason: 'from B' });
      expect(f.status).toBe(500);
    } finally {
      setFailpoints(new Map());
      await b.close();
    }
    const s = (await findState(t.database.db, h.id))!;
    expect(s.state).toBe('frozen');
    expect(await h.capacity()).toBe(before); // decided, not carried out
    // This instance's next pass sees the layer behind the new generation and applies it; with the
    // kept row (generation unchanged, `ok`) it would see nothing to do.
    const counts = await pass();
    expect(counts.applied).toBeGreaterThanOrEqual(1);
    expect(await h.capacity()).toBe(s.desiredCapacity);
    expect((await layer(h.id))?.appliedGeneration).toBe(s.metadataGeneration);
  });

  it('retries a layer whose retry another instance scheduled', async () => {
    const h = await steadyVolume('other-retry');
    const at = new Date(Date.now() + 1000);
    // Another instance's applier failed on this layer and set a retry that is due now.
    await new KnexLayerStore(other).recordApplyFailure({ volumeId: h.id, tenantId: 'carol', layer: 'metadata', error: 'injected', at: new Date(), retryAt: () => new Date() });
    await pass(at);
    // A due retry is verified (and the volume holds what is desired); the kept row had no retry.
    expect((await layer(h.id))?.verifiedAt?.getTime()).toBe(at.getTime());
  });

  it('sends a row only when its version changed, whoever wrote it and whatever they wrote', async () => {
    const h = await steadyVolume('versions');
    const db = t.database.db;
    const none = { keys: [], versions: [] };
    const first = await loadStatesVersioned(db, [h.id, 'vol_absent'], none);
    const v1 = first.changed.get(h.id)!;
    expect(v1.row.volumeId).toBe(h.id);
    expect([...first.changed.keys()]).toEqual([h.id]);
    expect(await loadStatesVersioned(db, [h.id], { keys: [h.id], versions: [v1.version] })).toEqual({ changed: new Map(), unchanged: 1 });
    // A write that leaves updated_at alone, and one that changes nothing at all, still count.
    await markForecastChecked(other, [{ volumeId: h.id, tenantId: 'carol' }], new Date());
    const second = await loadStatesVersioned(db, [h.id], { keys: [h.id], versions: [v1.version] });
    expect(second.unchanged).toBe(0);
    const v2 = second.changed.get(h.id)!;
    expect(v2.version).not.toBe(v1.version);
    expect(v2.row.forecastCheckedAt).not.toBeNull();
    await other.raw('UPDATE enforcement_states SET state = state WHERE volume_id = ?', [h.id]);
    expect((await loadStatesVersioned(db, [h.id], { keys: [h.id], versions: [v2.version] })).changed.has(h.id)).toBe(true);
    // A held row that is gone: not there unchanged (the cache then reads the page in full).
    expect(await loadStatesVersioned(db, ['vol_absent'], { keys: ['vol_absent'], versions: [v2.version] })).toEqual({ changed: new Map(), unchanged: 0 });

    const layers = new KnexLayerStore(db);
    const key = layerKey(h.id, 'metadata');
    const l1 = (await layers.loadVersioned([h.id], none)).changed.get(key)!;
    expect(l1.row.appliedGeneration).toBe(0n);
    expect(await layers.loadVersioned([h.id], { keys: [key], versions: [l1.version] })).toEqual({ changed: new Map(), unchanged: 1 });
    await new KnexLayerStore(other).recordVerified([{ volumeId: h.id, tenantId: 'carol', layer: 'metadata', observed: { capacity: '1', inodes: '0' } }], new Date());
    expect((await layers.loadVersioned([h.id], { keys: [key], versions: [l1.version] })).changed.get(key)?.row.verifiedAt).toBeInstanceOf(Date);
  });
});
