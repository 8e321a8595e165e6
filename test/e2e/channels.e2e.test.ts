/**
 * Chat channels over the API: admins and the platform manage them, secrets are sealed and only
 * hinted, junk writes nothing; deliveries go out in the tenant's language in each vendor's
 * format, a vendor's non-zero errcode is a failed delivery (retried, lastError kept), Slack is
 * paced to one message a second, the outbound guard refuses internal targets at delivery; the
 * weekly digest reaches the channels once per tenant and week. Real PostgreSQL, local engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { KnexChannelStore } from '../../server/notifications/channels/knex-channel-store.js';
import { channelBody, startChatReceiver, type ChatReceiver } from '../unit/notifications/chat-receivers.js';
import { channelStoreContract } from '../unit/notifications/channel-store.contract.js';

describe.skipIf(!pgAvailable())('notification channels', () => {
  let t: TestApp;
  let admin: string;
  const receivers: ChatReceiver[] = [];
  const channels = (tenant = 'han') => `/v1/tenants/${tenant}/channels`;
  beforeAll(async () => {
    t = await createTestApp({ NOTIFY_BACKOFF_MS: '60000' });
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'han', displayName: 'Han', language: 'zh' });
    await buildTenant(t.http, admin, { id: 'other' });
    for (const id of ['t1', 't2']) await buildTenant(t.http, admin, { id });
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all(receivers.map((r) => r.close()));
  });
  const receiver = async (kind: ChatReceiver['kind'], secret?: string) => {
    const r = await startChatReceiver(kind, secret);
    receivers.push(r);
    return r;
  };
  const freeze = async (volumeId: string) => {
    const f = await request(t.http).post(`/v1/volumes/${volumeId}/freeze`).set('authorization', admin).send({ reason: 'maintenance' });
    expect(f.status, JSON.stringify(f.body)).toBe(200);
    const u = await request(t.http).post(`/v1/volumes/${volumeId}/unfreeze`).set('authorization', admin).send({ reason: 'done now' });
    expect(u.status, JSON.stringify(u.body)).toBe(200);
  };
  const auditCount = async () => Number((await t.database.db('audit_events').where('action', 'like', 'notification_channel.%').count('* as n'))[0]!.n);

  it('is managed by admins and the platform; secrets are sealed and only hinted; junk writes nothing', async () => {
    const platform = `Bearer ${t.token('platform', 'ops')}`;
    const created = await request(t.http)
      .post(channels())
      .set('authorization', platform)
      .send({ kind: 'dingtalk', name: 'ops-room', url: 'https://oapi.dingtalk.com/robot/send?access_token=abcdef123456', secret: 'SECabcdefghij7890' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ kind: 'dingtalk', name: 'ops-room', enabled: true, target: 'https://oapi.dingtalk.com/…3456', secret: '…7890', createdBy: 'ops' });
    expect(JSON.stringify(created.body)).not.toContain('abcdef123456');
    const row = await t.database.db('notification_channels').where({ id: created.body.id }).first();
    expect(row.sealed_config).toMatch(/^v2\./);
    expect(row.sealed_config).not.toContain('SECabcdef');
    const id = created.body.id as string;
    expect((await request(t.http).get(channels()).set('authorization', admin)).body.items.map((c: { id: string }) => c.id)).toEqual([id]);
    expect((await request(t.http).get(`${channels()}/${id}`).set('authorization', admin)).body.secret).toBe('…7890');
    const patched = await request(t.http).patch(`${channels()}/${id}`).set('authorization', admin).send({ secret: 'SECnewsecret4321', enabled: false });
    expect(patched.body).toMatchObject({ secret: '…4321', enabled: false, target: 'https://oapi.dingtalk.com/…3456' });
    const audits = await auditCount();
    expect(audits).toBe(2);

    // Refused, and nothing written: engineers, bad configs, a taken name, another tenant's id.
    const engineer = `Bearer ${t.token('engineer', 'eve', ['han'])}`;
    expect((await request(t.http).post(channels()).set('authorization', engineer).send({ kind: 'slack', name: 'x', url: 'https://hooks.slack.com/services/T/B/X' })).status).toBe(403);
    expect((await request(t.http).get(channels()).set('authorization', engineer)).status).toBe(403);
    const bad = [
      { kind: 'slack', name: 'no-url' },
      { kind: 'slack', name: 'ftp', url: 'ftp://example.com/x' },
      { kind: 'slack', name: 'signed', url: 'https://hooks.slack.com/services/T/B/X', secret: 'nope' },
      { kind: 'email', name: 'mail', address: 'not-an-address' },
      { kind: 'wecom', name: 'wecom' },
      { kind: 'teams', name: 'teams', url: 'https://example.com' },
    ];
    for (const body of bad) expect((await request(t.http).post(channels()).set('authorization', admin).send(body)).status, JSON.stringify(body)).toBe(400);
    expect((await request(t.http).post(channels()).set('authorization', admin).send({ kind: 'wecom', name: 'ops-room', key: 'k-1' })).status).toBe(409);
    expect(
      (
        await request(t.http)
          .get(`${channels('other')}/${id}`)
          .set('authorization', admin)
      ).status,
    ).toBe(404);
    expect(
      (
        await request(t.http)
          .patch(`${channels('other')}/${id}`)
          .set('authorization', admin)
          .send({ name: 'mine' })
      ).status,
    ).toBe(404);
    expect((await request(t.http).post(channels('nobody')).set('authorization', admin).send({ kind: 'wecom', name: 'w', key: 'k' })).status).toBe(404);
    expect(await auditCount()).toBe(audits);
    expect(Number((await t.database.db('notification_channels').count('* as n'))[0]!.n)).toBe(1);

    expect((await request(t.http).delete(`${channels()}/${id}`).set('authorization', admin)).body).toMatchObject({ id, name: 'ops-room' });
    expect((await request(t.http).get(`${channels()}/${id}`).set('authorization', admin)).status).toBe(404);
    expect(await auditCount()).toBe(audits + 1);
    // The rows are the channel's own (its id), and the tenant's log includes them.
    const log = await request(t.http).get(`/v1/audit?entityType=channel&entityId=${id}&tenantId=han`).set('authorization', admin);
    expect(log.body.items.map((e: { action: string; entityType: string; tenantId: string }) => [e.action, e.entityType, e.tenantId])).toEqual([
      ['notification_channel.deleted', 'channel', 'han'],
      ['notification_channel.updated', 'channel', 'han'],
      ['notification_channel.created', 'channel', 'han'],
    ]);
  });

  it('delivers in the tenant language and vendor format; a vendor errcode is a failed, retried delivery', async () => {
    const ding = await receiver('dingtalk');
    const wecom = await receiver('wecom', 'wecom-key-0001');
    const feishu = await receiver('feishu');
    const okDing = (await request(t.http).post(channels()).set('authorization', admin).send(channelBody(ding, 'ding'))).body;
    // A Feishu bot configured with the wrong secret: Feishu answers 200 with code 19021.
    const wrong = (
      await request(t.http)
        .post(channels())
        .set('authorization', admin)
        .send({ ...channelBody(feishu, 'feishu-wrong'), secret: 'not-the-secret' })
    ).body;
    await request(t.http).post(channels()).set('authorization', admin).send({ kind: 'wecom', name: 'wecom', key: 'wecom-key-0001', url: wecom.url }).expect(201);
    // Link-local (cloud metadata) is refused at delivery even with loopback allowed.
    await request(t.http).post(channels()).set('authorization', admin).send({ kind: 'slack', name: 'metadata', url: 'http://169.254.169.254/latest' }).expect(201);
    const vol = await buildVolume(t.http, admin, 'han', { name: 'zh-vol', quota: { hardBytes: 10_000_000 } });
    await freeze(vol.id);
    await t.services.dispatcher.flush();

    expect(ding.refused).toEqual([]);
    expect(ding.accepted).toHaveLength(2);
    const md = ding.accepted[0]!.markdown as { title: string; text: string };
    expect(md.title).toBe('存储卷 zh-vol 已停止写入');
    expect(md.text).toContain('[申请扩容](');
    expect((wecom.accepted[0]!.markdown as { content: string }).content).toContain('**存储卷 zh-vol 已停止写入**');
    expect(feishu.accepted).toEqual([]);
    expect(feishu.refused[0]).toBe('sign match fail');

    const notices = (await request(t.http).get(`/v1/notifications?volumeId=${vol.id}&type=quota.frozen`).set('authorization', admin)).body.items;
    const byTarget = new Map(notices[0].deliveries.map((d: { target: string }) => [d.target, d]));
    expect(byTarget.get(okDing.id)).toMatchObject({ channel: 'dingtalk', state: 'delivered', lastError: null });
    expect(byTarget.get(wrong.id)).toMatchObject({ channel: 'feishu', lastError: 'feishu answered errcode 19021: sign match fail' });
    const meta = [...byTarget.values()].find((d) => (d as { channel: string }).channel === 'slack') as { lastError: string; state: string };
    expect(meta.lastError).toContain('refused: 169.254.169.254');
    expect(byTarget.get(wrong.id)).toMatchObject({ state: 'pending', attempts: 1 });
    // Retried after its backoff: with the secret fixed, the same deliveries go through.
    await request(t.http).patch(`${channels()}/${wrong.id}`).set('authorization', admin).send({ secret: feishu.secret }).expect(200);
    await t.database.db('notification_deliveries').where({ target: wrong.id }).update({ next_attempt_at: new Date() });
    await t.services.dispatcher.flush();
    expect(feishu.accepted).toHaveLength(2);
    expect((feishu.accepted[0]!.card as { header: { title: { content: string } } }).header.title.content).toMatch(/存储卷 zh-vol/);
  });

  it('paces Slack to one message a second per webhook', async () => {
    const slack = await receiver('slack');
    await request(t.http).post(channels('other')).set('authorization', admin).send(channelBody(slack, 'slack')).expect(201);
    const vol = await buildVolume(t.http, admin, 'other', { name: 'paced', quota: { hardBytes: 10_000_000 } });
    await freeze(vol.id);
    await freeze(vol.id);
    for (let i = 0; i < 50 && slack.accepted.length < 4; i++) {
      await t.services.dispatcher.flush();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(slack.refused).toEqual([]);
    expect(slack.accepted.map((m) => m.text)).toEqual(['Writes to paced are stopped', 'Writes to paced work again', 'Writes to paced are stopped', 'Writes to paced work again']);
    const gaps = slack.arrivals.slice(1).map((a, i) => a - slack.arrivals[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(950);
  });

  it('sends the weekly digest once per tenant and week', async () => {
    const ding = receivers.find((r) => r.kind === 'dingtalk')!;
    const before = ding.accepted.length;
    const now = new Date('2026-12-07T08:00:00Z'); // a Monday
    const first = await t.services.digest.run(now);
    expect(first.sent).toBeGreaterThanOrEqual(1);
    expect((await t.services.digest.run(now)).sent).toBe(0);
    expect((await t.services.digest.run(new Date('2026-12-10T08:00:00Z'))).sent).toBe(0); // same ISO week
    await t.services.dispatcher.flush();
    const got = ding.accepted.slice(before).map((m) => m.markdown as { title: string; text: string });
    expect(got).toHaveLength(1);
    expect(got[0]!.title).toBe('Han 存储周报（2026-W50）');
    expect(got[0]!.text).toContain('- zh-vol:');
  });

  describe('KnexChannelStore', () => {
    // Each run of the contract on rows of its own (the ids are fixed): clear them first.
    channelStoreContract(async () => {
      await t.database.db('notification_channels').whereIn('tenant_id', ['t1', 't2']).delete();
      return new KnexChannelStore(t.database.db);
    });
  });
});
