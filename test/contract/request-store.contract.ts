/**
 * The contract every {@link RequestStore} keeps, run against the PostgreSQL store
 * (test/e2e/knex-feature-stores.e2e.test.ts) and the in-memory fake
 * (test/unit/requests/fake-request-store.test.ts), so the fake the service's unit tests use
 * cannot drift from the real thing. Tests share a store: each files requests on volumes of its own.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { isUniqueViolation } from '../../server/db/database.js';
import type { NewRequest, RequestStore } from '../../server/requests/request-store.js';

/** A store under test. */
export interface RequestStoreSubject {
  store: RequestStore;
  /** Audit actions written so far about the entity, oldest first. */
  auditActions(entityId: string): Promise<string[]>;
  /** A volume requests may be filed on (PostgreSQL: its tenant and volume rows). */
  volume(): Promise<{ tenantId: string; volumeId: string }>;
}

const actor = { sub: 'root', role: 'admin' };
const rand = () => Math.random().toString(36).slice(2, 12);
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

/** Registers the contract suite for one implementation. */
export function requestStoreContract(name: string, make: () => Promise<RequestStoreSubject>): void {
  describe(`RequestStore contract: ${name}`, () => {
    let s: RequestStoreSubject;
    let tenantId: string;
    let volumeId: string;
    let base: string;
    let n = 0;
    /** A request to file; ids of one test sort in filing order. */
    const request = (o: Partial<NewRequest> = {}): NewRequest => ({
      id: `qrq_${base}${String(++n).padStart(3, '0')}`,
      volumeId,
      tenantId,
      requestedBy: 'eve',
      reason: 'training run',
      requested: { hardBytes: '2000', softBytes: null },
      until: null,
      explanation: 'no rule applies',
      ...o,
    });
    beforeEach(async () => {
      s = await make();
      ({ tenantId, volumeId } = await s.volume());
      base = rand();
    });

    it('stores a pending request as filed and finds it by id, within the visible tenants', async () => {
      const until = new Date('2030-01-02T03:04:05.000Z');
      const r = await s.store.insert(request({ until }));
      expect(r).toMatchObject({
        volumeId,
        tenantId,
        directoryQuotaId: null,
        directoryPath: null,
        state: 'pending',
        requestedBy: 'eve',
        reason: 'training run',
        requested: { hardBytes: '2000', softBytes: null },
        granted: null,
        previous: null,
        until,
        ruleId: null,
        explanation: 'no rule applies',
        decidedBy: null,
        decidedAt: null,
        comment: null,
        revertedAt: null,
      });
      expect(r.createdAt).toBeInstanceOf(Date);
      expect(await s.store.find(undefined, r.id)).toEqual(r);
      expect(await s.store.find([tenantId], r.id)).toEqual(r);
      expect(await s.store.find([`${tenantId}x`], r.id)).toBeUndefined();
      expect(await s.store.find(undefined, `${r.id}x`)).toBeUndefined();
    });

    it('keeps one pending request per volume quota and per directory quota', async () => {
      const first = await s.store.insert(request());
      expect(isUniqueViolation(await rejection(s.store.insert(request())), 'quota_requests_one_pending')).toBe(true);
      const dir = await s.store.insert(request({ directoryQuotaId: `dq_${base}`, directoryPath: Buffer.from('/data/é') }));
      expect(dir.directoryPath).toEqual(Buffer.from('/data/é'));
      expect(Buffer.isBuffer(dir.directoryPath)).toBe(true);
      expect(isUniqueViolation(await rejection(s.store.insert(request({ directoryQuotaId: `dq_${base}` }))), 'quota_requests_one_pending_directory')).toBe(true);
      expect((await s.store.pending(volumeId))?.id).toBe(first.id);
      expect((await s.store.pending(volumeId, `dq_${base}`))?.id).toBe(dir.id);
      expect(await s.store.pending(volumeId, `dq_${base}x`)).toBeUndefined();
      await s.store.update(first.id, { state: 'cancelled', decidedBy: 'eve', decided: true });
      expect(await s.store.pending(volumeId)).toBeUndefined();
      const again = await s.store.insert(request());
      expect((await s.store.pending(volumeId))?.id).toBe(again.id);
    });

    it('changes the decision fields a patch names and stamps when it was decided and reverted', async () => {
      const r = await s.store.insert(request());
      const until = new Date('2031-05-06T07:08:09.000Z');
      const a = await s.store.update(r.id, {
        state: 'approved',
        granted: { hardBytes: '3000' },
        previous: { hardBytes: null },
        until,
        ruleId: 'rul_1',
        decidedBy: 'rule:rul_1',
        comment: 'ok',
        decided: true,
      });
      expect(a).toMatchObject({
        state: 'approved',
        granted: { hardBytes: '3000' },
        previous: { hardBytes: null },
        until,
        ruleId: 'rul_1',
        decidedBy: 'rule:rul_1',
        comment: 'ok',
        explanation: 'no rule applies',
        revertedAt: null,
      });
      expect(a.decidedAt).toBeInstanceOf(Date);
      const b = await s.store.update(r.id, { reverted: true });
      expect(b.revertedAt).toBeInstanceOf(Date);
      expect(b).toMatchObject({ state: 'approved', granted: { hardBytes: '3000' }, decidedAt: a.decidedAt });
      expect(await s.store.find(undefined, r.id)).toEqual(b);
    });

    it('lists newest first, by tenants, state, volume, before an id, up to a limit', async () => {
      const other = await s.volume();
      const a = await s.store.insert(request());
      const b = await s.store.insert(request({ volumeId: other.volumeId, tenantId: other.tenantId }));
      const c = await s.store.insert(request({ directoryQuotaId: `dq_${base}` }));
      await s.store.update(a.id, { state: 'denied', decided: true });
      const tenants = [tenantId, other.tenantId];
      const ids = async (f: Parameters<RequestStore['list']>[0]) => (await s.store.list(f)).map((r) => r.id);
      expect(await ids({ tenantIds: tenants, limit: 10 })).toEqual([c.id, b.id, a.id]);
      expect(await ids({ tenantIds: [tenantId], limit: 10 })).toEqual([c.id, a.id]);
      expect(await ids({ tenantIds: tenants, state: 'pending', limit: 10 })).toEqual([c.id, b.id]);
      expect(await ids({ tenantIds: tenants, volumeId: other.volumeId, limit: 10 })).toEqual([b.id]);
      expect(await ids({ tenantIds: tenants, beforeId: c.id, limit: 1 })).toEqual([b.id]);
      expect(await ids({ tenantIds: [], limit: 10 })).toEqual([]);
    });

    it("knows each target's latest approval by a rule", async () => {
      expect(await s.store.lastAutoApproval(volumeId)).toBeNull();
      const manual = await s.store.insert(request());
      await s.store.update(manual.id, { state: 'approved', decidedBy: 'root', decided: true });
      expect(await s.store.lastAutoApproval(volumeId)).toBeNull();
      const first = await s.store.insert(request());
      const one = await s.store.update(first.id, { state: 'approved', ruleId: 'rul_1', decided: true });
      const second = await s.store.insert(request());
      const two = await s.store.update(second.id, { state: 'approved', ruleId: 'rul_2', decided: true });
      const latest = Math.max(one.decidedAt!.getTime(), two.decidedAt!.getTime());
      expect((await s.store.lastAutoApproval(volumeId))?.getTime()).toBe(latest);
      // A directory quota's approvals are its own, and the volume's are not its.
      expect(await s.store.lastAutoApproval(volumeId, `dq_${base}`)).toBeNull();
      const dir = await s.store.insert(request({ directoryQuotaId: `dq_${base}` }));
      const d = await s.store.update(dir.id, { state: 'approved', ruleId: 'rul_3', decided: true });
      expect((await s.store.lastAutoApproval(volumeId, `dq_${base}`))?.getTime()).toBe(d.decidedAt!.getTime());
      expect((await s.store.lastAutoApproval(volumeId))?.getTime()).toBe(latest);
    });

    it('finds approved temporary grants that are due and not reverted, soonest first', async () => {
      // Ancient instants: no other test's grant is due this early.
      const at = (day: number) => new Date(Date.UTC(1990, 0, day));
      const grant = async (until: Date | null, o: { state?: 'approved' | 'denied'; reverted?: boolean } = {}) => {
        const r = await s.store.insert(request());
        return s.store.update(r.id, { state: o.state ?? 'approved', until, decided: true, reverted: o.reverted });
      };
      const late = await grant(at(5));
      const early = await grant(at(2));
      await grant(at(3), { reverted: true });
      await grant(at(3), { state: 'denied' });
      await grant(null);
      await grant(at(20));
      expect((await s.store.dueGrants(at(10))).map((r) => r.id)).toEqual([early.id, late.id]);
      expect((await s.store.dueGrants(at(10), 1)).map((r) => r.id)).toEqual([early.id]);
      expect((await s.store.dueGrants(at(5))).map((r) => r.id)).toEqual([early.id, late.id]);
      expect(await s.store.dueGrants(at(1))).toEqual([]);
    });

    it('commits a transaction with its audit rows, and rolls both back when it throws', async () => {
      const r = await s.store.transaction(async ({ store, audit }) => {
        const created = await store.insert(request());
        await audit(actor, { action: 'quota_request.created', entityType: 'quota_request', entityId: created.id, tenantId, before: null, after: null });
        return created;
      });
      expect(await s.auditActions(r.id)).toEqual(['quota_request.created']);
      const failing = s.store.transaction(async ({ store, audit }) => {
        await store.update(r.id, { state: 'denied', decided: true });
        await audit(actor, { action: 'quota_request.denied', entityType: 'quota_request', entityId: r.id, tenantId, before: null, after: null });
        throw new Error('refused');
      });
      await expect(failing).rejects.toThrow('refused');
      expect((await s.store.find(undefined, r.id))?.state).toBe('pending');
      expect(await s.auditActions(r.id)).toEqual(['quota_request.created']);
    });

    it('reads a row locked for update inside a transaction, and joins a transaction it did not open', async () => {
      const r = await s.store.insert(request());
      const locked = await s.store.transaction(async ({ trx }) => s.store.joined(trx).store.find(undefined, r.id, { forUpdate: true }));
      expect(locked?.id).toBe(r.id);
    });
  });
}
