/**
 * The contract every {@link NotificationStore} keeps, run against the PostgreSQL store
 * (test/e2e/knex-feature-stores.e2e.test.ts) and the in-memory fake
 * (test/unit/notifications/fake-notification-store.test.ts), so the fake the outbox's and the
 * service's unit tests use cannot drift from the real thing. Tests share a store: each writes
 * notices about a volume of its own, and looks only at deliveries of its own notices.
 */
import { monotonicFactory } from 'ulid';
import { beforeEach, describe, expect, it } from 'vitest';
import type { NoticeData } from '../../server/notifications/notice.js';
import type { DeliveryTarget, NewStoredNotice, NotificationStore } from '../../server/notifications/notification-store.js';

/** A store under test. */
export interface NotificationStoreSubject {
  store: NotificationStore;
  /** Audit actions written so far about the entity, oldest first. */
  auditActions(entityId: string): Promise<string[]>;
  /** A volume notices may be about (PostgreSQL: its tenant and volume rows). */
  volume(): Promise<{ tenantId: string; volumeId: string }>;
}

const actor = { sub: 'root', role: 'admin' };
const nextId = monotonicFactory();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Notice data as the outbox would snapshot it (only what a round trip must keep matters). */
const noticeData = (tenantId: string, volumeId: string): NoticeData => ({
  volume: { id: volumeId, name: 'data' },
  tenant: { id: tenantId, name: 'Acme' },
  state: 'frozen',
  reason: 'hard_exceeded',
  usage: { bytes: '10', inodes: '1' },
  limits: { softBytes: null, hardBytes: '10', softInodes: null, hardInodes: null },
  graceDeadline: null,
  forecast: null,
  topDirectories: [{ path: '/a', bytes: '9', inodes: '1' }],
  toRelease: null,
  links: { enforcement: 'https://h.example/e', request: 'https://h.example/r' },
  detail: null,
  manualUntil: null,
});

/** Registers the contract suite for one implementation. */
export function notificationStoreContract(name: string, make: () => Promise<NotificationStoreSubject>): void {
  describe(`NotificationStore contract: ${name}`, () => {
    let s: NotificationStoreSubject;
    let tenantId: string;
    let volumeId: string;
    /** A notice to insert; ids sort in the order notices are made. */
    const notice = (o: Partial<NewStoredNotice> = {}): NewStoredNotice => {
      const id = `ntf_${nextId().toLowerCase()}`;
      return { id, eventKey: `${volumeId}:quota.frozen:${id}`, type: 'quota.frozen', version: 1, audience: 'tenant', tenantId, volumeId, language: 'en', data: noticeData(tenantId, volumeId), ...o };
    };
    const targets: DeliveryTarget[] = [
      { channel: 'webhook', target: 'https://hooks.acme.example/h' },
      { channel: 'email', target: 'ops@acme.example' },
    ];
    /** Claims everything due and keeps this test's deliveries (other tests' may be due too). */
    const claimOurs = async (lockMs = 60_000) => (await s.store.claimDue(1000, lockMs)).filter((d) => d.notice.volumeId === volumeId);
    const deliveriesOf = async (id: string) => (await s.store.listNotices({ tenantIds: [tenantId], limit: 100 })).find((n) => n.id === id)!.deliveries;
    beforeEach(async () => {
      s = await make();
      ({ tenantId, volumeId } = await s.volume());
    });

    it('stores a notice with one pending delivery per target, and lists it as written', async () => {
      const n = notice();
      expect(await s.store.insertNotice(n, [...targets, { channel: 'slack', target: 'chn_1' }, { channel: 'slack', target: 'chn_2' }])).toBe(true);
      const [listed] = await s.store.listNotices({ tenantIds: [tenantId], limit: 10 });
      expect(listed).toMatchObject({ ...n, createdAt: expect.any(Date) });
      expect(listed!.deliveries.map((d) => [d.channel, d.target, d.state, d.attempts, d.lastError, d.deliveredAt])).toEqual([
        ['email', 'ops@acme.example', 'pending', 0, null, null],
        ['slack', 'chn_1', 'pending', 0, null, null],
        ['slack', 'chn_2', 'pending', 0, null, null],
        ['webhook', 'https://hooks.acme.example/h', 'pending', 0, null, null],
      ]);
      expect(listed!.deliveries.every((d) => d.nextAttemptAt instanceof Date && d.notificationId === n.id)).toBe(true);
    });

    it('writes nothing for an event key already enqueued, and leaves the transaction usable', async () => {
      const first = notice();
      await s.store.insertNotice(first, targets);
      const again = await s.store.transaction(async ({ store }) => {
        const dup = await store.insertNotice(notice({ eventKey: first.eventKey }), targets);
        // PostgreSQL would refuse every later statement of an aborted transaction.
        return [dup, await store.insertNotice(notice(), [])];
      });
      expect(again).toEqual([false, true]);
      const listed = await s.store.listNotices({ tenantIds: [tenantId], limit: 10 });
      expect(listed).toHaveLength(2);
      expect(listed[1]!.id).toBe(first.id);
      expect(listed[0]!.deliveries).toEqual([]);
    });

    it('lists newest first, filtered by tenant, audience, volume and type, paged by id', async () => {
      const a = notice();
      const b = notice({ audience: 'admins', type: 'admin.storage_gap' });
      const c = notice();
      for (const n of [a, b, c]) await s.store.insertNotice(n, []);
      const ids = async (f: Parameters<NotificationStore['listNotices']>[0]) => (await s.store.listNotices(f)).map((n) => n.id);
      expect(await ids({ tenantIds: [tenantId], limit: 10 })).toEqual([c.id, b.id, a.id]);
      expect(await ids({ tenantIds: [tenantId], audience: 'tenant', limit: 10 })).toEqual([c.id, a.id]);
      expect(await ids({ tenantIds: [tenantId], type: 'admin.storage_gap', limit: 10 })).toEqual([b.id]);
      expect(await ids({ volumeId, limit: 10 })).toEqual([c.id, b.id, a.id]);
      expect(await ids({ tenantIds: [tenantId], beforeId: c.id, limit: 1 })).toEqual([b.id]);
      expect(await ids({ tenantIds: [], limit: 10 })).toEqual([]);
      expect(await ids({ tenantIds: [tenantId], volumeId: `${volumeId}x`, limit: 10 })).toEqual([]);
    });

    it('claims a due delivery once, counting the attempt, until its lock expires', async () => {
      const n = notice();
      await s.store.insertNotice(n, [targets[0]!]);
      const [claimed, ...more] = await claimOurs(1);
      expect(more).toEqual([]);
      expect(claimed!.notice).toMatchObject({ id: n.id, data: n.data, language: 'en' });
      expect(claimed!.delivery).toMatchObject({ channel: 'webhook', target: targets[0]!.target, state: 'sending', attempts: 1 });
      await sleep(20);
      // The claimant died: once its lock has passed, the delivery is due again.
      expect((await claimOurs()).map((d) => d.delivery.attempts)).toEqual([2]);
      expect(await claimOurs()).toEqual([]);
      expect((await s.store.claimDue(1, 60_000)).length).toBeLessThanOrEqual(1);
    });

    it('records a delivery sent, failed for a retry, given up, or put back untried', async () => {
      const n = notice();
      await s.store.insertNotice(n, [...targets, { channel: 'slack', target: 'chn_1' }]);
      expect(await claimOurs()).toHaveLength(3);
      const later = new Date(Date.now() + 3_600_000);
      await s.store.markSent(n.id, 'email', 'ops@acme.example');
      await s.store.markFailed(n.id, 'webhook', targets[0]!.target, `HTTP 500 ${'x'.repeat(2000)}`, later);
      await s.store.markDeferred(n.id, 'slack', 'chn_1', later);
      const ds = await deliveriesOf(n.id);
      expect(ds.map((d) => [d.channel, d.state, d.attempts])).toEqual([
        ['email', 'delivered', 1],
        ['slack', 'pending', 0],
        ['webhook', 'pending', 1],
      ]);
      expect(ds[0]!.deliveredAt).toBeInstanceOf(Date);
      expect(ds[2]!.lastError).toHaveLength(1000);
      expect(ds[2]!.nextAttemptAt.getTime()).toBe(later.getTime());
      expect(ds[1]!.nextAttemptAt.getTime()).toBe(later.getTime());
      expect(await claimOurs()).toEqual([]);
      // A retry whose time has come is due again; a given-up one never is.
      await s.store.markFailed(n.id, 'webhook', targets[0]!.target, 'timeout', new Date(Date.now() - 1000));
      expect((await claimOurs()).map((d) => [d.delivery.channel, d.delivery.attempts])).toEqual([['webhook', 2]]);
      await s.store.markFailed(n.id, 'webhook', targets[0]!.target, 'gone', null);
      expect(await claimOurs()).toEqual([]);
      expect((await deliveriesOf(n.id)).find((d) => d.channel === 'webhook')).toMatchObject({ state: 'failed', lastError: 'gone' });
    });

    it('keeps template overrides by type and language; a reset says whether there was one', async () => {
      const ours = async () => (await s.store.listTemplateOverrides()).filter((t) => t.type === 'quota.unfrozen');
      await s.store.upsertTemplate({ type: 'quota.unfrozen', language: 'zh', subject: 's1', text: 't1', html: 'h1', updatedBy: 'root' });
      await s.store.upsertTemplate({ type: 'quota.unfrozen', language: 'en', subject: 's2', text: 't2', html: 'h2', updatedBy: 'root' });
      await s.store.upsertTemplate({ type: 'quota.unfrozen', language: 'zh', subject: 's3', text: 't3', html: 'h3', updatedBy: 'alice' });
      const list = await ours();
      expect(list.map((t) => [t.language, t.subject, t.text, t.html, t.updatedBy])).toEqual([
        ['en', 's2', 't2', 'h2', 'root'],
        ['zh', 's3', 't3', 'h3', 'alice'],
      ]);
      expect(list[0]!.updatedAt).toBeInstanceOf(Date);
      expect(await s.store.deleteTemplate('quota.unfrozen', 'zh')).toBe(true);
      expect(await s.store.deleteTemplate('quota.unfrozen', 'zh')).toBe(false);
      expect(await s.store.deleteTemplate('quota.unfrozen', 'en')).toBe(true);
      expect(await ours()).toEqual([]);
    });

    it("claims a tenant's digest week once", async () => {
      expect(await s.store.claimDigestWeek(tenantId, '2026-W49')).toBe(true);
      expect(await s.store.claimDigestWeek(tenantId, '2026-W49')).toBe(false);
      expect(await s.store.claimDigestWeek(tenantId, '2026-W50')).toBe(true);
    });

    it("remembers a volume's early warnings, empty until saved", async () => {
      const memory = { hard: { fullAt: '2026-12-08T00:00:00.000Z', secondsToFull: 604800, notifiedAt: '2026-12-01T00:00:00.000Z' }, recent: ['2026-12-01T00:00:00.000Z'] };
      const got = await s.store.transaction(async ({ store }) => {
        const before = await store.lockWarningMemory(tenantId, volumeId);
        await store.saveWarningMemory(tenantId, volumeId, memory);
        return before;
      });
      expect(got).toEqual({ recent: [] });
      expect(await s.store.transaction(({ store }) => store.lockWarningMemory(tenantId, volumeId))).toEqual(memory);
      await s.store.saveWarningMemory(tenantId, volumeId, { recent: [] });
      expect(await s.store.lockWarningMemory(tenantId, volumeId)).toEqual({ recent: [] });
    });

    it('commits a transaction with its audit rows, and rolls both back when it throws, joined ones too', async () => {
      await s.store.transaction(async ({ store, audit }) => {
        await store.upsertTemplate({ type: 'quota.grace_ending', language: 'en', subject: 's', text: 't', html: 'h', updatedBy: 'root' });
        await audit(actor, { action: 'notification_template.updated', entityType: 'notification_template', entityId: `grace/${volumeId}`, tenantId: null, before: null, after: null });
      });
      expect(await s.auditActions(`grace/${volumeId}`)).toEqual(['notification_template.updated']);
      const n = notice();
      const failing = s.store.transaction(async ({ store, trx, audit }) => {
        // What the outbox does inside another use case's transaction.
        await s.store.joined(trx).store.insertNotice(n, targets);
        await s.store.joined(trx).store.saveWarningMemory(tenantId, volumeId, { recent: ['2026-12-01T00:00:00.000Z'] });
        await store.deleteTemplate('quota.grace_ending', 'en');
        await audit(actor, { action: 'notification_template.reset', entityType: 'notification_template', entityId: `grace/${volumeId}`, tenantId: null, before: null, after: null });
        throw new Error('refused');
      });
      await expect(failing).rejects.toThrow('refused');
      expect(await s.store.listNotices({ tenantIds: [tenantId], limit: 10 })).toEqual([]);
      expect(await s.store.lockWarningMemory(tenantId, volumeId)).toEqual({ recent: [] });
      expect(await s.auditActions(`grace/${volumeId}`)).toEqual(['notification_template.updated']);
      expect(await s.store.deleteTemplate('quota.grace_ending', 'en')).toBe(true);
    });
  });
}
