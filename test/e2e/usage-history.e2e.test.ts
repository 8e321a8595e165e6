/**
 * Usage samples, their downsampling, the time-to-full forecast and its notice; tenant notice
 * preferences; admin-editable templates. Real PostgreSQL, local engine.
 */
import path from 'node:path';
import { languages, noticeTypes } from '../../server/notifications/notice.js';
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { parseMetaUrl } from '../../server/meta/meta-url.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { downsample } from '../../server/quotas/usage-store.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe.skipIf(!pgAvailable())('usage history, forecasts and notice settings', () => {
  let t: TestApp;
  let store: LocalEngine;
  let admin: string;
  let engineer: string;
  beforeAll(async () => {
    t = await createTestApp();
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
    admin = `Bearer ${t.token('admin', 'root')}`;
    engineer = `Bearer ${t.token('engineer', 'eve', ['acme'])}`;
    await buildTenant(t.http, admin, { id: 'acme', displayName: 'Acme', email: 'acme@example.com' });
    await buildTenant(t.http, admin, { id: 'other', displayName: 'Other', email: 'o@example.com' });
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
  });

  async function filled(name: string, bytes: number, hardBytes: number) {
    const res = await request(t.http).post('/v1/tenants/acme/volumes').set('authorization', admin).send({ name, quota: { hardBytes } });
    const fx = new FixtureBuilder(store, new TkvVolume(store, parseMetaUrl(res.body.metaUrl).prefix).keys);
    await fx.file(ROOT_INODE, 'data', bytes);
    await fx.finish();
    return res.body.id as string;
  }
  /**
   * Writes past samples as earlier counters passes would have, in place of the one taken when the
   * volume was created (this history pretends the volume is older than that).
   */
  async function history(volumeId: string, points: { agoMs: number; bytes: number }[]) {
    await t.database.db('usage_samples').where({ volume_id: volumeId }).delete();
    await t.database.db('usage_samples').insert(points.map((p) => ({ volume_id: volumeId, resolution: 'raw', at: new Date(Date.now() - p.agoMs), bytes: p.bytes, inodes: 1 })));
  }

  it('forecasts time to full from recent growth, and warns when it is within days', async () => {
    // 10 MB/day for three days, now at 60 MB of 100 MB: full in about four days.
    const id = await filled('growing', 60_000_000, 100_000_000);
    await history(
      id,
      [3, 2, 1].map((d) => ({ agoMs: d * DAY, bytes: 60_000_000 - d * 10_000_000 })),
    );
    const u = await request(t.http).get(`/v1/volumes/${id}/usage`).set('authorization', engineer);
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({ state: 'ok', percentOfHardBytes: 60, limits: { hardBytes: 100_000_000 } });
    expect(u.body.forecast.bytesPerDay).toBeGreaterThan(9_000_000);
    expect(u.body.forecast.bytesPerDay).toBeLessThan(11_000_000);
    expect(u.body.forecast.secondsToFull / 86_400).toBeCloseTo(4, 0);

    const flat = await filled('flat', 60_000_000, 100_000_000);
    const aligned = Math.ceil(60_000_000 / 4096) * 4096; // JuiceFS counts whole 4 KiB blocks
    await history(
      flat,
      [3, 2, 1].map((d) => ({ agoMs: d * DAY, bytes: aligned })),
    );
    expect((await request(t.http).get(`/v1/volumes/${flat}/usage`).set('authorization', engineer)).body.forecast).toBeNull();

    await t.services.enforcement.countersPass(); // fresh readings
    const counts = await t.services.enforcement.enforcePass(); // forecasts are checked here
    expect(counts.notices).toBe(1);
    await t.services.enforcement.enforcePass(); // once per window, not every pass
    const notices = (await request(t.http).get('/v1/notifications?type=quota.forecast_full').set('authorization', engineer)).body.items;
    expect(notices.map((n: { volumeId: string }) => n.volumeId)).toEqual([id]);
    expect(notices[0].data.forecast.fullAt).toBeTruthy();
    // Another tenant's engineer sees none of it.
    const stranger = `Bearer ${t.token('engineer', 'mallory', ['other'])}`;
    expect((await request(t.http).get('/v1/notifications').set('authorization', stranger)).body.items).toEqual([]);
    await request(t.http).get(`/v1/volumes/${id}/usage/history`).set('authorization', stranger).expect(404);
  });

  it('keeps raw samples for two days, then hourly and daily maxima', async () => {
    const id = await filled('folded', 1000, 10_000_000);
    const base = Math.floor((Date.now() - 3 * DAY) / HOUR) * HOUR; // an hour boundary three days ago
    await history(id, [
      { agoMs: Date.now() - base - 5 * 60_000, bytes: 100 },
      { agoMs: Date.now() - base - 35 * 60_000, bytes: 300 },
      { agoMs: Date.now() - base - 50 * 60_000, bytes: 200 },
      { agoMs: 40 * DAY, bytes: 50 },
      { agoMs: HOUR, bytes: 900 },
    ]);
    await downsample(t.database.db, new Date());
    await downsample(t.database.db, new Date()); // idempotent
    const h = await request(t.http)
      .get(`/v1/volumes/${id}/usage/history?since=${encodeURIComponent(new Date(Date.now() - 60 * DAY).toISOString())}`)
      .set('authorization', engineer);
    expect(h.status, JSON.stringify(h.body)).toBe(200);
    const rows = h.body.samples.map((s: { resolution: string; bytes: number; at: string }) => [s.resolution, s.bytes]);
    expect(rows).toEqual([
      ['day', 50],
      ['hour', 300],
      ['raw', 900],
    ]);
    expect(h.body.samples[1].at).toBe(new Date(base).toISOString());
    const onlyRaw = await request(t.http)
      .get(`/v1/volumes/${id}/usage/history?resolution=raw&since=${encodeURIComponent(new Date(Date.now() - 60 * DAY).toISOString())}`)
      .set('authorization', engineer);
    expect(onlyRaw.body.samples).toHaveLength(1);
  });

  it('lets a tenant choose its language; only admins and the platform set webhooks; validated and audited', async () => {
    const res = await request(t.http).patch('/v1/tenants/acme').set('authorization', engineer).send({ language: 'zh' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ language: 'zh', webhookUrl: null });
    // A webhook is a request Headroom makes from inside the network: not for tenants to aim.
    const hook = await request(t.http).patch('/v1/tenants/acme').set('authorization', engineer).send({ webhookUrl: 'http://filer:8888/etc/seaweedfs/filer.conf' });
    expect(hook.status).toBe(403);
    const platform = `Bearer ${t.token('platform', 'onboarding-bot')}`;
    const set = await request(t.http).patch('/v1/tenants/acme').set('authorization', platform).send({ webhookUrl: 'https://hooks.example.com/acme' });
    expect(set.body.webhookUrl).toBe('https://hooks.example.com/acme');
    const bad = await request(t.http).patch('/v1/tenants/acme').set('authorization', engineer).send({ language: 'fr' });
    expect(bad.status).toBe(400);
    expect((await request(t.http).patch('/v1/tenants/acme').set('authorization', admin).send({ webhookUrl: 'ftp://x' })).status).toBe(400);
    await request(t.http).patch('/v1/tenants/other').set('authorization', engineer).send({ language: 'zh' }).expect(404);
    const cleared = await request(t.http).patch('/v1/tenants/acme').set('authorization', admin).send({ webhookUrl: null, language: 'en' });
    expect(cleared.body.webhookUrl).toBeNull();
    // The same again changes nothing, so it writes nothing: the resource comes back as it was.
    const again = await request(t.http).patch('/v1/tenants/acme').set('authorization', admin).send({ webhookUrl: null, language: 'en' });
    expect(again.body).toEqual(cleared.body);
    const audit = await request(t.http).get('/v1/audit?action=tenant.updated&entityId=acme').set('authorization', admin);
    expect(audit.body.items).toHaveLength(3);
  });

  it('lets admins edit templates, refusing unknown variables, and reset them', async () => {
    const list = await request(t.http).get('/v1/notification-templates').set('authorization', admin);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(noticeTypes.length * languages.length); // every type, in each language
    const body = { subject: '[storage] {{volumeName}} is frozen', text: 'Frozen: {{reasonText}}. {{requestUrl}}', html: '<p>Frozen: {{reasonText}}</p>' };
    const put = await request(t.http).put('/v1/notification-templates/quota.frozen/en').set('authorization', admin).send(body);
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ ...body, overridden: true, updatedBy: 'root' });
    const bad = await request(t.http)
      .put('/v1/notification-templates/quota.frozen/en')
      .set('authorization', admin)
      .send({ ...body, text: 'Hi {{password}}' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('template_invalid');
    await request(t.http).put('/v1/notification-templates/quota.frozen/en').set('authorization', engineer).send(body).expect(403);
    const reset = await request(t.http).delete('/v1/notification-templates/quota.frozen/en').set('authorization', admin);
    expect(reset.body.overridden).toBe(false);
    expect(reset.body.subject).toBe('Writes to {{volumeName}} are stopped');
  });
});
