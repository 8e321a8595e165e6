/**
 * Early warnings end to end: a volume whose forecast crosses into the soft-limit horizon gets
 * exactly one notice, delivered once on every configured channel (Slack, Feishu, DingTalk,
 * WeCom, a signed webhook), each verified by its receiver; the same forecast is not sent again,
 * a crossing of the hard-limit horizon is, and the daily cap holds back the next one. The notice
 * carries the numbers and the latest walk's top finding. Real PostgreSQL, local engine.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { parseMetaUrl } from '../../server/meta/meta-url.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { channelBody, startChatReceiver, type ChatReceiver } from '../unit/notifications/chat-receivers.js';

const MB = 1_000_000;
const DAY = 86_400_000;

describe.skipIf(!pgAvailable())('early warnings on every channel', () => {
  let t: TestApp;
  let store: LocalEngine;
  let admin: string;
  let engineer: string;
  const receivers: ChatReceiver[] = [];
  beforeAll(async () => {
    t = await createTestApp({ FORECAST_ALERT_DAYS: '3', FORECAST_WARN_SOFT_DAYS: '7', FORECAST_MAX_PER_DAY: '2' });
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
    admin = `Bearer ${t.token('admin', 'root')}`;
    engineer = `Bearer ${t.token('engineer', 'eve', ['acme'])}`;
    await buildTenant(t.http, admin, { id: 'acme', displayName: 'Acme' });
    for (const kind of ['slack', 'feishu', 'dingtalk', 'wecom', 'webhook'] as const) receivers.push(await startChatReceiver(kind));
    for (const r of receivers) {
      const res = await request(t.http).post('/v1/tenants/acme/channels').set('authorization', admin).send(channelBody(r));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  /** Past samples of a steady growth, ending at `bytes` now. */
  async function history(volumeId: string, bytes: number, perDay: number) {
    await t.database.db('usage_samples').where({ volume_id: volumeId }).delete();
    await t.database.db('usage_samples').insert([3, 2, 1].map((d) => ({ volume_id: volumeId, resolution: 'raw', at: new Date(Date.now() - d * DAY), bytes: bytes - d * perDay, inodes: 3 })));
  }
  /** An enforce pass with every forecast due (they are checked every 6 hours per volume). */
  async function checkForecasts() {
    await t.database.db('enforcement_states').update({ forecast_checked_at: null });
    const counts = await t.services.enforcement.enforcePass();
    await t.services.dispatcher.flush();
    return counts.notices;
  }
  const walk = async (volumeId: string) => {
    const started = await request(t.http).post(`/v1/volumes/${volumeId}/walks`).set('authorization', admin);
    expect(started.status).toBe(202);
    for (let i = 0; i < 400; i++) {
      const r = await request(t.http).get(String(started.headers.location)).set('authorization', admin);
      if (r.body.state === 'succeeded') return;
      if (r.body.state === 'failed') throw new Error(r.body.error);
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error('walk did not finish');
  };

  it('sends one notice per crossing on each channel, verified by its receiver, then paces them', async () => {
    const res = await request(t.http)
      .post('/v1/tenants/acme/volumes')
      .set('authorization', admin)
      .send({ name: 'train', quota: { softBytes: 80 * MB, hardBytes: 100 * MB } });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const fx = new FixtureBuilder(store, new TkvVolume(store, parseMetaUrl(res.body.metaUrl).prefix).keys);
    await fx.file(ROOT_INODE, 'data', 40 * MB);
    const cache = await fx.mkdir(ROOT_INODE, '__pycache__');
    await fx.file(cache, 'model.cpython-311.pyc', 20 * MB);
    await fx.finish();
    await walk(id);
    await t.services.enforcement.countersPass();
    const used = Number((await t.database.db('usage_readings').where({ volume_id: id }).first()).bytes);

    // 10 MB a day: the soft limit (80 MB) in about 2 days, inside its 7-day horizon; the hard
    // limit (100 MB) in about 4 days, outside its 3-day one.
    await history(id, used, 10 * MB);
    expect(await checkForecasts()).toBe(1);
    for (const r of receivers) {
      expect(r.refused, r.kind).toEqual([]);
      expect(r.accepted, r.kind).toHaveLength(1);
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- vendor JSON, checked field by field below
    const [slack, feishu, dingtalk, wecom, hook] = receivers.map((r) => r.accepted[0]!) as Record<string, any>[];
    // About two days (a little under: JuiceFS counts whole 4 KiB blocks, so usage is above 60 MB).
    expect(slack!.text).toMatch(/^train reaches its soft limit in (4[6-8] hours|2 days)$/);
    expect(Date.parse(hook!.data.forecast.fullAt) - Date.now()).toBeGreaterThan(1.9 * DAY);
    expect(Date.parse(hook!.data.forecast.fullAt) - Date.now()).toBeLessThan(2.05 * DAY);
    expect(slack!.blocks[1].text.text).toContain('__pycache__');
    expect(feishu!.card.header.title.content).toBe(slack!.text);
    expect(dingtalk!.markdown.text).toContain('soft limit of 80 MB');
    expect(wecom!.markdown.content).toContain('What could go (20 MB in all)');
    expect(hook!.type).toBe('quota.forecast_soft');
    expect(hook!.data.warning).toEqual({ level: 'soft', limitBytes: String(80 * MB), horizonDays: 7 });
    expect(hook!.data.findings[0]).toMatchObject({ rule: 'pycache', paths: ['/__pycache__'] });
    expect(Number(hook!.data.forecast.bytesPerDay)).toBeCloseTo(10 * MB, -5);

    const listed = (await request(t.http).get(`/v1/notifications?volumeId=${id}`).set('authorization', engineer)).body.items;
    expect(listed).toHaveLength(1);
    expect(listed[0].deliveries.map((d: { channel: string; state: string }) => [d.channel, d.state]).sort()).toEqual([
      ['dingtalk', 'delivered'],
      ['feishu', 'delivered'],
      ['slack', 'delivered'],
      ['webhook', 'delivered'],
      ['wecom', 'delivered'],
    ]);
    // Deliveries name the channel, never its address (a Slack or WeCom URL is a credential).
    expect(listed[0].deliveries.every((d: { target: string }) => /^chn_/.test(d.target))).toBe(true);

    // The same forecast again: nothing new to say.
    expect(await checkForecasts()).toBe(0);
    // Growth triples: the hard limit is now within its horizon, a new crossing.
    await history(id, used, 30 * MB);
    expect(await checkForecasts()).toBe(1);
    expect(receivers.map((r) => r.accepted.length)).toEqual([2, 2, 2, 2, 2]);
    expect((receivers[4]!.accepted[1] as { type: string }).type).toBe('quota.forecast_full');
    // It moves again, materially, but two were sent today (FORECAST_MAX_PER_DAY=2).
    await history(id, used, 5 * MB);
    await t.database.db('usage_samples').insert({ volume_id: id, resolution: 'raw', at: new Date(Date.now() - 4 * 3_600_000), bytes: used - 2 * MB, inodes: 3 });
    expect(await checkForecasts()).toBe(0);
    expect(receivers.map((r) => r.accepted.length)).toEqual([2, 2, 2, 2, 2]);
    // A day later (the sends age out of the 24-hour window) the held-back warning goes out.
    const row = await t.database.db('forecast_warnings').where({ volume_id: id }).first();
    expect(row.memory.recent).toHaveLength(2);
    const aged = row.memory.recent.map((x: string) => new Date(Date.parse(x) - DAY).toISOString());
    await t.database
      .db('forecast_warnings')
      .where({ volume_id: id })
      .update({ memory: JSON.stringify({ ...row.memory, recent: aged }) });
    expect(await checkForecasts()).toBe(1);
    expect((receivers[4]!.accepted[2] as { type: string }).type).toBe('quota.forecast_soft');
  });
});
