/**
 * The Outbox over in-memory stores: who gets a tenant's notice and an admins' one, the dedupe by
 * event key, tenants' chat channels, and the pacing of early warnings (the volume's memory kept
 * in the notification store, in the caller's transaction).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { FAKE_TRX } from '../../../server/lib/in-memory-transactions.js';
import { FakeChannelStore } from '../../../server/notifications/channels/fake-channel-store.js';
import type { Channel, ChannelKind } from '../../../server/notifications/channels/channel.js';
import { FakeNotificationStore } from '../../../server/notifications/fake-notification-store.js';
import { FindingSource } from '../../../server/notifications/finding-source.js';
import type { NewNotice, NoticeData } from '../../../server/notifications/notice.js';
import { Outbox, type ForecastWarning, type OutboxOptions } from '../../../server/notifications/outbox.js';
import { FakeTenantStore } from '../../../server/tenants/fake-tenant-store.js';
import { tenantReadModel } from '../../../server/tenants/tenant-read-model.js';

const data = { volume: { id: 'vol_1', name: 'data' }, links: { enforcement: 'e', request: 'r' } } as unknown as NoticeData;
const notice = (o: Partial<NewNotice> = {}): NewNotice => ({ eventKey: 'vol_1:quota.frozen:1', type: 'quota.frozen', audience: 'tenant', tenantId: 'acme', volumeId: 'vol_1', data, ...o });
let channelSeq = 0;
const channel = (kind: ChannelKind, enabled = true): Channel => {
  const id = `chn_${String(++channelSeq).padStart(26, '0')}`;
  return { id, tenantId: 'acme', kind, name: `${kind}-${channelSeq}`, enabled, sealedConfig: 'sealed', hint: 'h', createdBy: 'root', createdAt: new Date(), updatedAt: new Date() };
};
const targetsOf = (store: FakeNotificationStore, id: string) => store.deliveriesOf(id).map((d) => `${d.channel}:${d.target}`);

describe('Outbox', () => {
  let tenants: FakeTenantStore;
  let channels: FakeChannelStore;
  let store: FakeNotificationStore;
  let woken: number;
  const outbox = (o: Partial<OutboxOptions> = {}) =>
    new Outbox({ store, tenants: tenantReadModel(tenants), channels, emailEnabled: true, adminEmail: 'root@platform.example', adminWebhookUrl: 'https://ops.example/hook', ...o }, () => void woken++);
  beforeEach(async () => {
    tenants = new FakeTenantStore();
    channels = new FakeChannelStore();
    store = new FakeNotificationStore();
    woken = 0;
    await tenants.insert({ id: 'acme', displayName: 'Acme', email: 'ops@acme.example', language: 'zh', webhookUrl: 'https://hooks.acme.example/h', tier: 'standard' });
  });

  describe('enqueue', () => {
    it("sends a tenant's notice to its webhook, its email and its enabled channels, in its language", async () => {
      const slack = channel('slack');
      const mail = channel('email');
      await channels.insert('acme', slack);
      await channels.insert('acme', mail);
      await channels.insert('acme', channel('feishu', false));
      expect(await outbox().enqueue(FAKE_TRX, notice())).toBe(true);
      const [n] = store.allNotices();
      expect(n).toMatchObject({ type: 'quota.frozen', audience: 'tenant', tenantId: 'acme', language: 'zh', version: 1, data });
      expect(n!.id).toMatch(/^ntf_[0-9a-z]{26}$/);
      expect(targetsOf(store, n!.id)).toEqual([`email:${mail.id}`, 'email:ops@acme.example', `slack:${slack.id}`, 'webhook:https://hooks.acme.example/h']);
      expect(woken).toBe(1);
    });

    it('leaves email out, the email channels too, when the server cannot send email', async () => {
      await channels.insert('acme', channel('email'));
      await tenants.update('acme', { webhookUrl: null });
      await outbox({ emailEnabled: false }).enqueue(FAKE_TRX, notice());
      expect(targetsOf(store, store.allNotices()[0]!.id)).toEqual([]);
    });

    it("sends an admins' notice to the admins' webhook and email only, in English", async () => {
      await channels.insert('acme', channel('slack'));
      await outbox().enqueue(FAKE_TRX, notice({ audience: 'admins', type: 'admin.storage_gap', eventKey: 'vol_1:admin.storage_gap:1' }));
      const [n] = store.allNotices();
      expect(n).toMatchObject({ audience: 'admins', language: 'en' });
      expect(targetsOf(store, n!.id)).toEqual(['email:root@platform.example', 'webhook:https://ops.example/hook']);
      await outbox({ emailEnabled: false, adminWebhookUrl: undefined }).enqueue(FAKE_TRX, notice({ audience: 'admins', eventKey: 'vol_1:admin.storage_gap:2' }));
      expect(targetsOf(store, store.allNotices()[1]!.id)).toEqual([]);
    });

    it('writes a notice about an unknown tenant with no deliveries', async () => {
      await outbox().enqueue(FAKE_TRX, notice({ tenantId: 'ghost' }));
      const [n] = store.allNotices();
      expect(n).toMatchObject({ tenantId: 'ghost', language: 'en' });
      expect(targetsOf(store, n!.id)).toEqual([]);
    });

    it('enqueues an event once: a second notice of its key writes nothing and wakes no one', async () => {
      const o = outbox();
      expect(await o.enqueue(FAKE_TRX, notice())).toBe(true);
      expect(await o.enqueue(FAKE_TRX, notice({ type: 'quota.unfrozen' }))).toBe(false);
      expect(store.allNotices().map((n) => n.type)).toEqual(['quota.frozen']);
      expect(woken).toBe(1);
    });

    it('rolls the notice back with the transaction it was written in', async () => {
      const o = outbox();
      await expect(
        store.transaction(async ({ trx }) => {
          await o.enqueue(trx, notice());
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      expect(store.allNotices()).toEqual([]);
    });
  });

  describe('warnForecast', () => {
    const day = 86_400_000;
    const t0 = new Date('2026-12-01T00:00:00Z');
    const inDays = (now: Date, days: number) => ({ fullAt: new Date(now.getTime() + days * day), secondsToFull: days * 86_400 });
    const warning = (now: Date, hardDays: number | null, softDays: number | null = null): ForecastWarning => ({
      tenantId: 'acme',
      volumeId: 'vol_1',
      forecasts: { hard: hardDays === null ? null : inDays(now, hardDays), soft: softDays === null ? null : inDays(now, softDays) },
      limits: { hard: 100n, soft: 80n },
      bytesPerDay: 10,
      data: async () => ({ ...data }),
    });
    const noFindings = new FindingSource({
      in() {
        return this;
      },
      recentWalks: async () => [],
      findings: async () => [],
    });
    const o = () => outbox({ findings: noFindings, pacing: { horizonDays: { hard: 7, soft: 14 }, resendChange: 0.25, resendShiftHours: 24, maxPerDay: 2 } });

    it('warns once when the forecast crosses into the horizon, with the forecast and the limit', async () => {
      const ob = o();
      expect(await ob.warnForecast(FAKE_TRX, warning(t0, 10), t0)).toBe(false);
      expect(store.allNotices()).toEqual([]);
      const t1 = new Date(t0.getTime() + 3_600_000);
      expect(await ob.warnForecast(FAKE_TRX, warning(t1, 5), t1)).toBe(true);
      const [n] = store.allNotices();
      expect(n).toMatchObject({ type: 'quota.forecast_full', eventKey: `vol_1:quota.forecast_full:${t1.toISOString()}` });
      expect(n!.data.forecast).toEqual({ fullAt: new Date(t1.getTime() + 5 * day).toISOString(), bytesPerDay: '10' });
      expect(n!.data.warning).toEqual({ level: 'hard', limitBytes: '100', horizonDays: 7 });
      expect(n!.data.findings).toEqual([]);
      // The same forecast an hour later is not news.
      const t2 = new Date(t1.getTime() + 3_600_000);
      expect(await ob.warnForecast(FAKE_TRX, warning(t2, 5 - 1 / 24), t2)).toBe(false);
      expect(await store.lockWarningMemory('acme', 'vol_1')).toMatchObject({ hard: { notifiedAt: t1.toISOString() }, recent: [t1.toISOString()] });
    });

    it('warns about the soft limit when only it is near, and again when the forecast moved materially', async () => {
      const ob = o();
      expect(await ob.warnForecast(FAKE_TRX, warning(t0, null, 10), t0)).toBe(true);
      expect(store.allNotices()[0]).toMatchObject({ type: 'quota.forecast_soft', data: { warning: { level: 'soft', limitBytes: '80', horizonDays: 14 } } });
      const t1 = new Date(t0.getTime() + 3_600_000);
      expect(await ob.warnForecast(FAKE_TRX, warning(t1, null, 4), t1)).toBe(true);
      expect(store.allNotices()).toHaveLength(2);
    });

    it('sends at most maxPerDay warnings a day, and re-arms a level that left its horizon', async () => {
      const ob = o();
      const at = (h: number) => new Date(t0.getTime() + h * 3_600_000);
      expect(await ob.warnForecast(FAKE_TRX, warning(at(0), 6), at(0))).toBe(true);
      expect(await ob.warnForecast(FAKE_TRX, warning(at(1), 2), at(1))).toBe(true);
      // Moved again, but two were sent within 24 hours.
      expect(await ob.warnForecast(FAKE_TRX, warning(at(2), 0.5), at(2))).toBe(false);
      // Out of the horizon, then back in: a new crossing, sent once the day has passed.
      expect(await ob.warnForecast(FAKE_TRX, warning(at(3), 30), at(3))).toBe(false);
      expect(await ob.warnForecast(FAKE_TRX, warning(at(25), 6), at(25))).toBe(true);
      expect(store.allNotices()).toHaveLength(3);
    });
  });
});
