/**
 * RequestService over in-memory stores and read models: filing (granted at once by a rule of the
 * tenant's tier, or left for an admin), approval, denial, cancellation and the revert of
 * temporary grants, each with its audit rows and notice in the request's transaction, and the
 * quota re-evaluated after commit. Volumes are a real VolumeService over the fake volume store;
 * enforcement, the outbox and directory quotas are stubs of the few methods requests call.
 */
import type { Knex } from 'knex';
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../../server/auth/principal.js';
import { initialState } from '../../../server/enforcement/enforcement-store.js';
import type { NewNotice, NoticeData } from '../../../server/notifications/notice.js';
import { FakeRequestStore } from '../../../server/requests/fake-request-store.js';
import { FakeRuleStore } from '../../../server/requests/fake-rule-store.js';
import { RequestService } from '../../../server/requests/request-service.js';
import type { DirectoryRequestPort, RequestEnforcementPort } from '../../../server/requests/request-targets.js';
import { FakeTenantStore } from '../../../server/tenants/fake-tenant-store.js';
import { tenantReadModel } from '../../../server/tenants/tenant-read-model.js';
import { FakeVolumeStore } from '../../../server/volumes/fake-volume-store.js';
import type { Volume } from '../../../server/volumes/volume.js';
import { volumeReadModel } from '../../../server/volumes/volume-read-model.js';
import { VolumeService } from '../../../server/volumes/volume-service.js';
import { rejectsWith, volumeConfig as config } from '../../support/unit.js';

const actor = { sub: 'eve', role: 'engineer', requestId: 'req-1' };
const rootActor = { sub: 'root', role: 'admin', requestId: 'req-2' };
const admin: Principal = { sub: 'root', role: 'admin', tenants: [] };
const eve: Principal = { sub: 'eve', role: 'engineer', tenants: ['acme'] };
const bob: Principal = { sub: 'bob', role: 'engineer', tenants: ['acme'] };
const mallory: Principal = { sub: 'mallory', role: 'engineer', tenants: ['globex'] };
const notCalled = async (): Promise<never> => {
  throw new Error('directory quotas are not part of these tests');
};
const dirs: DirectoryRequestPort = { requestable: notCalled, usageOf: notCalled, findForGrant: notCalled, lockForGrant: notCalled, setLimitsAsGrant: notCalled, afterGrant: notCalled };

describe('RequestService', () => {
  let store: FakeRequestStore;
  let volumeStore: FakeVolumeStore;
  let volumes: VolumeService;
  let notices: NewNotice[];
  let decided: string[];
  let settled: string[];
  let usage: { usedBytes: bigint; usedInodes: bigint };
  let enforcement: RequestEnforcementPort;
  let service: RequestService;
  let vol: Volume;

  beforeEach(async () => {
    store = new FakeRequestStore();
    volumeStore = new FakeVolumeStore();
    const tenantStore = new FakeTenantStore();
    await tenantStore.insert({ id: 'acme', displayName: 'Acme', email: 'ops@acme.example', language: 'en', webhookUrl: null, tier: 'standard' });
    await tenantStore.insert({ id: 'globex', displayName: 'Globex', email: 'ops@globex.example', language: 'en', webhookUrl: null, tier: 'gold' });
    const rules = new FakeRuleStore();
    await rules.save({ id: 'rul_pct', tier: 'standard', kind: 'percent_increase', params: { maxPercent: 20, cooldownDays: 7 }, position: 100, enabled: true, description: null, createdBy: 'root' });
    const tenants = tenantReadModel(tenantStore);
    volumes = new VolumeService({ store: volumeStore, config, provisioner: { provision: async () => {} }, tenants, enforcementStates: { seed: async () => {} } });
    vol = (await volumes.create(rootActor, 'acme', { name: 'data', quota: { softBytes: 800, hardBytes: 1000, hardInodes: 100 } })).volume;
    notices = [];
    decided = [];
    settled = [];
    usage = { usedBytes: 500n, usedInodes: 5n };
    enforcement = {
      decideWithin: async (_trx, volumeId) => void decided.push(volumeId),
      afterQuotaChange: async (volumeId) => void settled.push(volumeId),
      notices: { noticeData: async () => ({ reason: 'usage' }) as unknown as NoticeData },
    };
    service = new RequestService({
      store,
      rules,
      db: {} as Knex,
      log: pino({ level: 'silent' }),
      volumes,
      metadata: { readUsage: async () => usage },
      enforcement,
      outbox: { enqueue: async (_trx, n) => (notices.push(n), true) },
      directoryQuotas: dirs,
      reads: { volumes: volumeReadModel(volumeStore), usage: { latest: async () => new Map() }, states: { current: async (_db, v, since) => initialState(v.id, v.tenantId, since) } },
      tenants,
      ceiling: config.quotas,
      publicUrl: 'https://headroom.example',
    });
  });

  const hardBytes = async () => (await volumes.find(vol.id))!.quota.hardBytes;
  const actions = () => store.audits.map((a) => a.action);

  describe('create', () => {
    it('leaves a request no rule covers pending, audited, with a notice to the admins', async () => {
      const r = await service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 5000, reason: 'training run' });
      expect(r).toMatchObject({ state: 'pending', volumeId: vol.id, tenantId: 'acme', requestedBy: 'eve', requested: { hardBytes: '5000' }, directoryQuotaId: null });
      expect(r.explanation).toMatch(/at most \+20%/);
      expect(actions()).toEqual(['quota_request.created']);
      expect(notices.map((n) => [n.type, n.audience, n.eventKey])).toEqual([['admin.request_pending', 'admins', `${r.id}:admin.request_pending`]]);
      expect(await hardBytes()).toBe(1000n);
      expect(decided).toEqual([]);
      expect(settled).toEqual([]);
      expect(await service.pendingFor(vol.id)).toEqual(r);
    });

    it("grants at once what a rule of the tenant's tier covers: the quota changes and is decided in the same transaction, then settled", async () => {
      const r = await service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 1100, reason: 'a bit more' });
      expect(r).toMatchObject({ state: 'approved', ruleId: 'rul_pct', granted: { hardBytes: '1100' }, previous: { hardBytes: '1000' }, decidedBy: 'rule:rul_pct' });
      expect(r.decidedAt).toBeInstanceOf(Date);
      expect(await hardBytes()).toBe(1100n);
      expect(actions()).toEqual(['quota_request.created', 'volume.quota_changed', 'quota_request.auto_approved']);
      expect(store.audits[1]).toMatchObject({ entityId: vol.id, before: { hardBytes: '1000' }, after: { hardBytes: '1100' } });
      expect(store.audits[2]!.actor).toMatchObject({ sub: 'rule:rul_pct', role: 'system' });
      expect(notices.map((n) => [n.type, n.audience])).toEqual([['quota.request_approved', 'tenant']]);
      expect(decided).toEqual([vol.id]);
      expect(settled).toEqual([vol.id]);
    });

    it("keeps a rule's cooldown: the next increase within it waits for an admin", async () => {
      await service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 1100, reason: 'a bit more' });
      const next = await service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 1200, reason: 'a bit more again' });
      expect(next.state).toBe('pending');
      expect(next.explanation).toMatch(/one automatic increase every 7 days/);
      expect(await hardBytes()).toBe(1100n);
    });

    it('refuses a second pending request of the volume (409 request_pending naming it)', async () => {
      const first = await service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 5000, reason: 'one' });
      const err = await rejectsWith(service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 6000, reason: 'two' }), 409, 'request_pending');
      expect(err.extra).toEqual({ pendingRequestId: first.id });
      await rejectsWith(service.preview(eve, { volumeId: vol.id }, { hardBytes: 6000, reason: 'two' }), 409, 'request_pending');
      expect(actions()).toEqual(['quota_request.created']);
    });

    it('refuses asks that are not increases, below the usage, empty, or for volumes not active, and writes nothing', async () => {
      await rejectsWith(service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 900, reason: 'less' }), 422, 'not_an_increase');
      await rejectsWith(service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 1000, reason: 'same' }), 422, 'not_an_increase');
      await rejectsWith(service.create(actor, eve, { volumeId: vol.id }, { softInodes: 10, reason: 'unlimited today' }), 422, 'not_an_increase');
      await rejectsWith(service.create(actor, eve, { volumeId: vol.id }, { reason: 'nothing' }), 400, 'validation_failed');
      usage = { usedBytes: 1500n, usedInodes: 5n };
      await rejectsWith(service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 1200, reason: 'still frozen' }), 422, 'request_below_usage');
      await rejectsWith(service.create(actor, mallory, { volumeId: vol.id }, { hardBytes: 5000, reason: 'not mine' }), 404, 'volume_not_found');
      await volumes.delete(rootActor, vol.id);
      await rejectsWith(service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 5000, reason: 'deleted' }), 409, 'volume_not_active');
      expect(await store.list({ limit: 10 })).toEqual([]);
      expect(store.audits).toEqual([]);
      expect(notices).toEqual([]);
    });

    it('previews what filing would do without writing anything', async () => {
      expect(await service.preview(eve, { volumeId: vol.id }, { hardBytes: 1100, reason: 'x' })).toMatchObject({ wouldApprove: true, ruleId: 'rul_pct' });
      expect(await service.preview(eve, { volumeId: vol.id }, { hardBytes: 5000, reason: 'x' })).toMatchObject({ wouldApprove: false, ruleId: null });
      expect(await store.list({ limit: 10 })).toEqual([]);
      expect(store.audits).toEqual([]);
    });
  });

  describe('decisions', () => {
    let pending: Awaited<ReturnType<RequestService['create']>>;
    beforeEach(async () => {
      pending = await service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 5000, reason: 'training run' });
      store.audits = [];
      notices = [];
    });

    it("approves with the admin's numbers, audited with the quota change, then settles", async () => {
      const r = await service.approve(rootActor, pending.id, { hardBytes: 4000, softBytes: 900, comment: 'a little less' });
      expect(r).toMatchObject({
        state: 'approved',
        decidedBy: 'root',
        comment: 'a little less',
        ruleId: null,
        granted: { hardBytes: '4000', softBytes: '900' },
        previous: { hardBytes: '1000', softBytes: '800' },
      });
      expect(r.explanation).toBe('approved by root');
      expect((await volumes.find(vol.id))!.quota).toMatchObject({ softBytes: 900n, hardBytes: 4000n });
      expect(actions()).toEqual(['volume.quota_changed', 'quota_request.approved']);
      expect(notices.map((n) => n.type)).toEqual(['quota.request_approved']);
      expect(decided).toEqual([vol.id]);
      expect(settled).toEqual([vol.id]);
      await rejectsWith(service.approve(rootActor, pending.id, {}), 409, 'request_not_pending');
      await rejectsWith(service.approve(rootActor, 'qrq_nope', {}), 404, 'request_not_found');
    });

    it('writes no decision when the enforcement decision on the new quota fails', async () => {
      enforcement.decideWithin = async () => {
        throw new Error('state row locked');
      };
      await expect(service.approve(rootActor, pending.id, {})).rejects.toThrow('state row locked');
      expect((await service.get(admin, pending.id)).state).toBe('pending');
      expect(store.audits).toEqual([]);
      expect(settled).toEqual([]);
    });

    it('denies with a reason for the requester, changing no quota', async () => {
      const r = await service.deny(rootActor, pending.id, 'use the scratch volume');
      expect(r).toMatchObject({ state: 'denied', decidedBy: 'root', comment: 'use the scratch volume' });
      expect(actions()).toEqual(['quota_request.denied']);
      expect(notices.map((n) => [n.type, n.audience])).toEqual([['quota.request_denied', 'tenant']]);
      expect(await hardBytes()).toBe(1000n);
      await rejectsWith(service.deny(rootActor, pending.id, 'again'), 409, 'request_not_pending');
    });

    it('lets the requester or an admin cancel, nobody else', async () => {
      await rejectsWith(service.cancel(actor, bob, pending.id), 403, 'forbidden');
      await rejectsWith(service.cancel(actor, mallory, pending.id), 404, 'request_not_found');
      expect(store.audits).toEqual([]);
      const r = await service.cancel(actor, eve, pending.id);
      expect(r).toMatchObject({ state: 'cancelled', decidedBy: 'eve' });
      expect(actions()).toEqual(['quota_request.cancelled']);
      await rejectsWith(service.cancel(rootActor, admin, pending.id), 409, 'request_not_pending');
      // The volume is free for a new request.
      expect((await service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 5000, reason: 'again' })).state).toBe('pending');
    });

    it("shows requests only to their tenant's engineers and admins", async () => {
      expect((await service.get(bob, pending.id)).id).toBe(pending.id);
      await rejectsWith(service.get(mallory, pending.id), 404, 'request_not_found');
      expect((await service.list(mallory, { limit: 10 })).map((r) => r.id)).toEqual([]);
      expect((await service.list(admin, { state: 'pending', limit: 10 })).map((r) => r.id)).toEqual([pending.id]);
    });
  });

  describe('revertDue', () => {
    it('puts back what a temporary grant changed when its time is up, once, and settles the quota', async () => {
      const r = await service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 3000, reason: 'one week', until: new Date(Date.now() + 7 * 86_400_000).toISOString() });
      await service.approve(rootActor, r.id, {});
      expect(await hardBytes()).toBe(3000n);
      store.audits = [];
      notices = [];
      settled = [];
      expect(await service.revertDue(new Date(Date.now() + 6 * 86_400_000))).toBe(0);
      const later = new Date(Date.now() + 8 * 86_400_000);
      expect(await service.revertDue(later)).toBe(1);
      expect(await hardBytes()).toBe(1000n);
      expect(actions()).toEqual(['volume.quota_changed', 'quota_request.grant_reverted']);
      expect(store.audits[1]).toMatchObject({ actor: { sub: 'system:grants' }, before: { granted: { hardBytes: '3000' } }, after: { restored: { hardBytes: '1000' } } });
      expect(notices.map((n) => n.type)).toEqual(['quota.grant_reverted']);
      expect(settled).toEqual([vol.id]);
      expect((await service.get(admin, r.id)).revertedAt).toBeInstanceOf(Date);
      expect(await service.revertDue(later)).toBe(0);
    });

    it('keeps a limit changed again since the grant', async () => {
      const r = await service.create(actor, eve, { volumeId: vol.id }, { hardBytes: 3000, reason: 'one week', until: new Date(Date.now() + 7 * 86_400_000).toISOString() });
      await service.approve(rootActor, r.id, {});
      await volumeStore.transaction(({ trx }) => volumes.setQuotaIn(trx, vol.id, { softBytes: 800n, hardBytes: 9000n, softInodes: null, hardInodes: 100n }));
      expect(await service.revertDue(new Date(Date.now() + 8 * 86_400_000))).toBe(1);
      expect(await hardBytes()).toBe(9000n);
      expect(store.audits.at(-1)).toMatchObject({ action: 'quota_request.grant_reverted', after: { restored: {} } });
    });
  });
});
