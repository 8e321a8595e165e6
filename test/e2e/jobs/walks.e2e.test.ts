/**
 * The nightly walk job on the local engine and real PostgreSQL: bounded concurrency, the read
 * budget, and resumption (volumes walked recently are skipped, so a cut-off run continues).
 */
import path from 'node:path';
import { request } from '../../support/api.js';
import { buildTenant } from '../../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../../server/engines/local/local-engine.js';
import { LocalLease } from '../../../server/jobs/lease.js';
import { runWalks } from '../../../server/jobs/walk-job.js';
import { parseMetaUrl } from '../../../server/meta/meta-url.js';
import { FixtureBuilder } from '../../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../../server/meta/tkv/keys.js';
import { TkvVolume } from '../../../server/meta/tkv/tkv-volume.js';
import { pgAvailable } from '../../support/pg.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';

describe.skipIf(!pgAvailable())('nightly walks', () => {
  let t: TestApp;
  let store: LocalEngine;
  const ids: string[] = [];
  const ctx = () => {
    const lease = new LocalLease('walks', new Map());
    void lease.acquire();
    return { signal: new AbortController().signal, lease };
  };
  const budget = { concurrency: 2, keysPerSecond: 1_000_000, totalKeysPerSecond: 1_000_000, minIntervalMs: 20 * 3_600_000 };

  beforeAll(async () => {
    t = await createTestApp();
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
    const admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme', displayName: 'Acme', email: 'a@example.com' });
    for (let v = 0; v < 4; v++) {
      const res = await request(t.http)
        .post('/v1/tenants/acme/volumes')
        .set('authorization', admin)
        .send({ name: `v${v}` });
      const fx = new FixtureBuilder(store, new TkvVolume(store, parseMetaUrl(res.body.metaUrl).prefix).keys);
      const d = await fx.mkdir(ROOT_INODE, 'data');
      for (let i = 0; i < 300; i++) await fx.file(d, `f${i}`, 1000 + i);
      await fx.finish();
      ids.push(res.body.id);
    }
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
  });

  it('walks every volume, at most `concurrency` at a time, and stores the results', async () => {
    const counts = await runWalks(t.services.walks, budget, ctx());
    expect(counts).toMatchObject({ volumes: 4, walked: 4, failed: 0, skipped: 0 });
    expect(counts.keysRead).toBeGreaterThan(4 * 600);
    const walks = (await t.database.db('walks').whereIn('volume_id', ids).orderBy('started_at')) as { started_at: Date; finished_at: Date; state: string; result: { mismatch: unknown } }[];
    expect(walks.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(walks.every((s) => s.result.mismatch === null)).toBe(true);
    for (const s of walks) {
      const overlapping = walks.filter((o) => o.started_at < s.finished_at && o.finished_at > s.started_at);
      expect(overlapping.length).toBeLessThanOrEqual(2);
    }
  });

  it('resumes: volumes walked within the interval are skipped, the others are walked', async () => {
    await t.database
      .db('walks')
      .where({ volume_id: ids[2] })
      .update({ finished_at: new Date(Date.now() - 2 * 86_400_000) });
    const counts = await runWalks(t.services.walks, budget, ctx());
    expect(counts).toMatchObject({ volumes: 4, walked: 1, skipped: 3 });
    const latest = await t.database.db('walks').where({ volume_id: ids[2] }).orderBy('created_at', 'desc').first();
    expect(latest.requested_by).toBe('system:walker');
  });

  it('keeps within the read budget', async () => {
    await t.database
      .db('walks')
      .whereIn('volume_id', ids)
      .update({ finished_at: new Date(Date.now() - 2 * 86_400_000) });
    const started = Date.now();
    const counts = await runWalks(t.services.walks, { ...budget, keysPerSecond: 10_000, totalKeysPerSecond: 2000 }, ctx());
    const elapsed = (Date.now() - started) / 1000;
    // Everything beyond the one-second burst is paid at 2000 keys/s (a lower bound, not a speed test).
    expect(counts.walked).toBe(4);
    expect(elapsed).toBeGreaterThanOrEqual(((counts.keysRead! - 2000) / 2000) * 0.9);
  });

  it('stops at the deadline and leaves the rest for the next run', async () => {
    await t.database
      .db('walks')
      .whereIn('volume_id', ids)
      .update({ finished_at: new Date(Date.now() - 2 * 86_400_000) });
    const c = ctx();
    const controller = new AbortController();
    const slow = { ...budget, concurrency: 1, keysPerSecond: 500, totalKeysPerSecond: 500 };
    setTimeout(() => controller.abort(new Error('deadline of the walk job')), 300);
    await expect(runWalks(t.services.walks, slow, { ...c, signal: controller.signal })).rejects.toThrow('deadline');
    const failed = await t.database.db('walks').whereIn('volume_id', ids).where({ state: 'failed' });
    expect(failed).toHaveLength(1);
    expect(failed[0].error).toMatch(/deadline/);
    const next = await runWalks(t.services.walks, budget, ctx());
    expect(next.walked).toBe(4);
  });
});
