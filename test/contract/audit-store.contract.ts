/**
 * The contract every {@link AuditStore} keeps, run against the PostgreSQL store (rows written by
 * `recordAudit`; test/e2e/knex-feature-stores.e2e.test.ts) and the in-memory fake
 * (test/unit/audit/fake-audit-store.test.ts). Tests share a log: each writes rows of its own
 * tenant and entities.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Actor, AuditInput } from '../../server/audit/audit-log.js';
import type { AuditStore } from '../../server/audit/audit-store.js';

/** A store under test, and the writer of the log it reads. */
export interface AuditStoreSubject {
  store: AuditStore;
  /** Appends a row as `recordAudit` does, stamped `at`. */
  record(actor: Actor, e: AuditInput, at: Date): Promise<void>;
}

const at = (m: number) => new Date(Date.UTC(2026, 11, 1, 12, m));
const rand = () => Math.random().toString(36).slice(2, 12);

/** Registers the contract suite for one implementation. */
export function auditStoreContract(name: string, make: () => Promise<AuditStoreSubject>): void {
  describe(`AuditStore contract: ${name}`, () => {
    let s: AuditStoreSubject;
    let tenant: string;
    const row = (o: Partial<AuditInput> = {}): AuditInput => ({ action: 'tenant.updated', entityType: 'tenant', entityId: tenant, tenantId: tenant, before: null, after: null, ...o });
    beforeEach(async () => {
      s = await make();
      tenant = `t${rand()}`;
    });

    it('reads rows back as written, newest first, with increasing ids', async () => {
      const before = { displayName: 'Acme', limits: { hardBytes: '1099511627776' }, tags: ['a', 1, null] };
      await s.record({ sub: 'alice', role: 'admin', requestId: 'req-1' }, row({ action: 'tenant.created', after: before }), at(1));
      await s.record({ sub: 'ci', role: 'platform' }, row({ before, after: { displayName: 'Acme Ltd' } }), at(2));
      const [second, first] = await s.store.list({ tenantId: tenant, limit: 10 });
      expect(first).toEqual({
        id: expect.any(String),
        at: at(1),
        actor: 'alice',
        actorRole: 'admin',
        requestId: 'req-1',
        action: 'tenant.created',
        entityType: 'tenant',
        entityId: tenant,
        tenantId: tenant,
        before: null,
        after: before,
      });
      expect(second).toMatchObject({ at: at(2), actor: 'ci', actorRole: 'platform', requestId: null, before, after: { displayName: 'Acme Ltd' } });
      expect(BigInt(second!.id)).toBeGreaterThan(BigInt(first!.id));
    });

    it('filters by tenant, entity, action and actor, together', async () => {
      const admin = { sub: 'alice', role: 'admin' };
      await s.record(admin, row({ action: 'tenant.created' }), at(1));
      await s.record(admin, row({ action: 'quota_rule.created', entityType: 'quota_rule', entityId: `rul_${tenant}`, tenantId: null }), at(2));
      await s.record({ sub: 'bob', role: 'admin' }, row({ action: 'volume.created', entityType: 'volume', entityId: `vol_${tenant}` }), at(3));
      const actions = async (f: Parameters<AuditStore['list']>[0]) => (await s.store.list(f)).map((e) => e.action);
      expect(await actions({ tenantId: tenant, limit: 10 })).toEqual(['volume.created', 'tenant.created']);
      expect(await actions({ entityType: 'quota_rule', entityId: `rul_${tenant}`, limit: 10 })).toEqual(['quota_rule.created']);
      expect(await actions({ tenantId: tenant, actor: 'bob', limit: 10 })).toEqual(['volume.created']);
      expect(await actions({ tenantId: tenant, action: 'tenant.created', limit: 10 })).toEqual(['tenant.created']);
      expect(await actions({ tenantId: tenant, entityType: 'volume', actor: 'alice', limit: 10 })).toEqual([]);
    });

    it('keeps rows from `since` on and before `until`, and pages backwards from an id', async () => {
      for (const m of [1, 2, 3, 4, 5]) await s.record({ sub: 'alice', role: 'admin' }, row({ action: `step.${m}` }), at(m));
      const actions = async (f: Omit<Parameters<AuditStore['list']>[0], 'tenantId'>) => (await s.store.list({ tenantId: tenant, ...f })).map((e) => e.action);
      expect(await actions({ since: at(2), until: at(4), limit: 10 })).toEqual(['step.3', 'step.2']);
      const page1 = await s.store.list({ tenantId: tenant, limit: 2 });
      expect(page1.map((e) => e.action)).toEqual(['step.5', 'step.4']);
      expect(await actions({ beforeId: BigInt(page1[1]!.id), limit: 2 })).toEqual(['step.3', 'step.2']);
      expect(await actions({ beforeId: BigInt(page1[1]!.id), since: at(3), limit: 10 })).toEqual(['step.3']);
    });
  });
}
