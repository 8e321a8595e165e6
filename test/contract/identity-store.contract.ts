/**
 * The contract every {@link IdentityStore} keeps, run against the PostgreSQL store
 * (test/e2e/knex-feature-stores.e2e.test.ts) and the in-memory fake
 * (test/unit/storage/fake-identity-store.test.ts). Tests share a store: each makes identities
 * of tenants of its own, with access keys of its own random prefix.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { IdentityStore, NewIdentity } from '../../server/storage/identity-store.js';

/** A store under test. */
export interface IdentityStoreSubject {
  store: IdentityStore;
  /** Audit actions written so far about the entity, oldest first. */
  auditActions(entityId: string): Promise<string[]>;
  /** A tenant an identity may belong to (PostgreSQL: its row), its id of lowercase letters and digits. */
  tenant(): Promise<string>;
}

const actor = { sub: 'root', role: 'admin' };
const rand = () => Math.random().toString(36).slice(2, 10).toUpperCase();

/** Registers the contract suite for one implementation. */
export function identityStoreContract(name: string, make: () => Promise<IdentityStoreSubject>): void {
  describe(`IdentityStore contract: ${name}`, () => {
    let s: IdentityStoreSubject;
    let keyPrefix: string;
    const identity = (tenantId: string, o: Partial<NewIdentity> = {}): NewIdentity => ({
      tenantId,
      name: `headroom-${tenantId}`,
      accessKey: `${keyPrefix}${rand()}`,
      secretEnc: `sealed-${rand()}`,
      ...o,
    });
    beforeEach(async () => {
      s = await make();
      keyPrefix = `HRC${rand()}`;
    });

    it('records one identity per tenant and finds it; a second one is refused without an error', async () => {
      const tenantId = await s.tenant();
      const first = identity(tenantId);
      const result = await s.store.transaction(async ({ store }) => {
        const a = await store.insert(first);
        // PostgreSQL would refuse every later statement of an aborted transaction.
        const b = await store.insert(identity(tenantId, { name: `other-${tenantId}` }));
        return [a, b, await store.find(tenantId)];
      });
      expect(result.slice(0, 2)).toEqual([true, false]);
      const found = await s.store.find(tenantId);
      expect(found).toEqual({ ...first, createdAt: expect.any(Date) });
      expect(result[2]).toEqual(found);
      expect(await s.store.find(`${tenantId}x`)).toBeUndefined();
    });

    it('replaces the current key of a row locked for the change', async () => {
      const tenantId = await s.tenant();
      await s.store.insert(identity(tenantId));
      const key = `${keyPrefix}NEW`;
      await s.store.transaction(async ({ store }) => {
        expect(await store.find(tenantId, { forUpdate: true })).toBeDefined();
        await store.updateKey(tenantId, key, 'sealed-new');
      });
      expect(await s.store.find(tenantId)).toMatchObject({ tenantId, name: `headroom-${tenantId}`, accessKey: key, secretEnc: 'sealed-new' });
    });

    it('lists identities by access key prefix and every sealed secret, by tenant', async () => {
      const [a, b, c] = [await s.tenant(), await s.tenant(), await s.tenant()];
      await s.store.insert(identity(b));
      await s.store.insert(identity(a));
      await s.store.insert(identity(c, { accessKey: `HRO${rand()}${rand()}` }));
      // Slugs of lowercase letters and digits: the same order under any collation as by code point.
      expect((await s.store.withKeyPrefix(keyPrefix)).map((i) => i.tenantId)).toEqual([a, b].sort());
      expect((await s.store.withKeyPrefix(`${keyPrefix}-none`)).length).toBe(0);
      const secrets = (await s.store.sealedSecrets()).filter((x) => [a, b, c].includes(x.tenantId));
      expect(secrets.map((x) => x.tenantId)).toEqual([a, b, c].sort());
      expect(secrets.find((x) => x.tenantId === a)!.secretEnc).toBe((await s.store.find(a))!.secretEnc);
    });

    it('reseals a secret only while it is what was read', async () => {
      const tenantId = await s.tenant();
      await s.store.insert(identity(tenantId, { secretEnc: 'old' }));
      expect(await s.store.reseal(tenantId, 'stale', 'new')).toBe(false);
      expect(await s.store.reseal(tenantId, 'old', 'new')).toBe(true);
      expect((await s.store.find(tenantId))!.secretEnc).toBe('new');
      expect(await s.store.reseal(`${tenantId}x`, 'new', 'newer')).toBe(false);
    });

    it('commits a transaction with its audit rows, and rolls both back when it throws', async () => {
      const tenantId = await s.tenant();
      await s.store.transaction(async ({ store, audit }) => {
        await store.insert(identity(tenantId, { secretEnc: 'v1' }));
        await audit(actor, { action: 'tenant.storage_key_rotated', entityType: 'tenant', entityId: tenantId, tenantId, before: null, after: null });
      });
      const failing = s.store.transaction(async ({ store, audit }) => {
        await store.updateKey(tenantId, `${keyPrefix}X`, 'v2');
        await audit(actor, { action: 'tenant.storage_key_rotated', entityType: 'tenant', entityId: tenantId, tenantId, before: null, after: null });
        throw new Error('refused');
      });
      await expect(failing).rejects.toThrow('refused');
      expect((await s.store.find(tenantId))!.secretEnc).toBe('v1');
      expect(await s.auditActions(tenantId)).toEqual(['tenant.storage_key_rotated']);
    });
  });
}
