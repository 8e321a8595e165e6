/**
 * The contract every {@link TenantStore} keeps, run against the PostgreSQL store
 * (test/e2e/knex-feature-stores.e2e.test.ts) and the in-memory fake
 * (test/unit/tenants/fake-tenant-store.test.ts), so the fake the service's unit tests use cannot
 * drift from the real thing. Tests share a store: each makes tenants of its own random ids.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { NewTenant, TenantStore } from '../../server/tenants/tenant-store.js';

/** A store under test. */
export interface TenantStoreSubject {
  store: TenantStore;
  /** Audit actions written so far about the entity, oldest first. */
  auditActions(entityId: string): Promise<string[]>;
}

const actor = { sub: 'root', role: 'admin' };
// Letters and digits only: the table's slug check, and the same order under any collation.
const slug = () => `t${Math.random().toString(36).slice(2, 12)}`;

/** Registers the contract suite for one implementation. */
export function tenantStoreContract(name: string, make: () => Promise<TenantStoreSubject>): void {
  describe(`TenantStore contract: ${name}`, () => {
    let s: TenantStoreSubject;
    let base: string;
    const tenant = (o: Partial<NewTenant> = {}): NewTenant => ({ id: base, displayName: 'Acme', email: 'ops@acme.example', language: 'en', webhookUrl: null, tier: 'standard', ...o });
    beforeEach(async () => {
      s = await make();
      base = slug();
    });

    it('stores a tenant as given and finds it by id, with its creation time', async () => {
      const t = await s.store.insert(tenant({ language: 'zh', webhookUrl: 'https://hooks.acme.example/h', tier: 'gold' }));
      expect(t).toMatchObject({ id: base, displayName: 'Acme', email: 'ops@acme.example', language: 'zh', webhookUrl: 'https://hooks.acme.example/h', tier: 'gold' });
      expect(t!.createdAt).toBeInstanceOf(Date);
      expect(await s.store.find(base)).toEqual(t);
      expect(await s.store.find(`${base}x`)).toBeUndefined();
    });

    it('answers a taken id with undefined, keeps the first row, and leaves the transaction usable', async () => {
      const first = await s.store.insert(tenant());
      const after = await s.store.transaction(async ({ store }) => {
        expect(await store.insert(tenant({ displayName: 'Other' }))).toBeUndefined();
        // PostgreSQL would refuse every later statement of an aborted transaction.
        return store.update(base, { email: 'new@acme.example' });
      });
      expect(after).toMatchObject({ displayName: 'Acme', email: 'new@acme.example', createdAt: first!.createdAt });
      expect(await s.store.find(base)).toEqual(after);
    });

    it('changes only the fields a patch gives; null removes the webhook; an unknown id is undefined', async () => {
      await s.store.insert(tenant({ webhookUrl: 'https://hooks.acme.example/h' }));
      const a = await s.store.update(base, { displayName: 'Acme Ltd', tier: 'gold' });
      expect(a).toMatchObject({ displayName: 'Acme Ltd', tier: 'gold', email: 'ops@acme.example', language: 'en', webhookUrl: 'https://hooks.acme.example/h' });
      const b = await s.store.update(base, { webhookUrl: null, language: 'zh' });
      expect(b).toMatchObject({ displayName: 'Acme Ltd', webhookUrl: null, language: 'zh' });
      expect(await s.store.find(base)).toEqual(b);
      expect(await s.store.update(`${base}x`, { displayName: 'Nobody' })).toBeUndefined();
      expect(await s.store.find(`${base}x`)).toBeUndefined();
    });

    it('lists by id, limited to the given ids, after an id, up to a limit', async () => {
      const ids = [`${base}c`, `${base}a`, `${base}b`];
      for (const id of ids) await s.store.insert(tenant({ id }));
      const list = async (o: { only?: string[]; afterId?: string; limit: number }) => (await s.store.list(o)).map((t) => t.id);
      expect(await list({ only: ids, limit: 10 })).toEqual([`${base}a`, `${base}b`, `${base}c`]);
      expect(await list({ only: [`${base}c`, `${base}a`, `${base}zz`], limit: 10 })).toEqual([`${base}a`, `${base}c`]);
      expect(await list({ only: ids, afterId: `${base}a`, limit: 1 })).toEqual([`${base}b`]);
      expect(await list({ only: [], limit: 10 })).toEqual([]);
      // Without `only`, other tests' tenants may come too, but ours keep their order.
      expect((await list({ afterId: base, limit: 1000 })).filter((id) => ids.includes(id))).toEqual([`${base}a`, `${base}b`, `${base}c`]);
    });

    it('commits a transaction with its audit rows, and rolls both back when it throws', async () => {
      await s.store.transaction(async ({ store, audit }) => {
        await store.insert(tenant());
        await audit(actor, { action: 'tenant.created', entityType: 'tenant', entityId: base, tenantId: base, before: null, after: { id: base } });
      });
      expect(await s.store.find(base)).toBeDefined();
      expect(await s.auditActions(base)).toEqual(['tenant.created']);
      const failing = s.store.transaction(async ({ store, audit }) => {
        await store.update(base, { displayName: 'Changed' });
        await audit(actor, { action: 'tenant.updated', entityType: 'tenant', entityId: base, tenantId: base, before: null, after: null });
        throw new Error('refused');
      });
      await expect(failing).rejects.toThrow('refused');
      expect((await s.store.find(base))!.displayName).toBe('Acme');
      expect(await s.auditActions(base)).toEqual(['tenant.created']);
    });

    it('reads a row locked for update inside a transaction', async () => {
      await s.store.insert(tenant());
      const t = await s.store.transaction(({ store }) => store.find(base, { forUpdate: true }));
      expect(t?.id).toBe(base);
    });
  });
}
