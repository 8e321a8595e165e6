/**
 * The contract every {@link DirectoryQuotaStore} keeps, run against the PostgreSQL store
 * (test/e2e/directory-quotas.e2e.test.ts) and the in-memory fake
 * (test/unit/directory-quotas/fake-directory-quota-store.test.ts), so the fake the service's unit
 * tests use cannot drift from the real thing.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { NewDirectoryQuota } from '../../server/directory-quotas/directory-quota.js';
import { DirectoryQuotaExistsError, type DirectoryQuotaStore } from '../../server/directory-quotas/directory-quota-store.js';

/** A store under test, and a way to make a volume of a tenant it may hold quotas for. */
export interface DirectoryQuotaStoreSubject {
  store: DirectoryQuotaStore;
  volume(): Promise<{ id: string; tenantId: string }>;
  /** Audit actions written so far for the volume. */
  auditActions(volumeId: string): Promise<string[]>;
}

let seq = 0;
const id = () => `dq_${String(++seq).padStart(26, '0')}`;
const noLimits = { softBytes: null, hardBytes: null, softInodes: null, hardInodes: null, graceSeconds: 0 };
const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 0, 0, s));
const actor = { sub: 'root', role: 'admin' };

/** Registers the contract suite for one implementation. */
export function directoryQuotaStoreContract(name: string, make: () => Promise<DirectoryQuotaStoreSubject>): void {
  describe(`DirectoryQuotaStore contract: ${name}`, () => {
    let s: DirectoryQuotaStoreSubject;
    let v: { id: string; tenantId: string };
    const row = (o: Partial<NewDirectoryQuota> = {}): NewDirectoryQuota => ({
      id: id(),
      tenantId: v.tenantId,
      volumeId: v.id,
      path: Buffer.from('/team/a'),
      inode: 7n,
      quota: noLimits,
      ownerSub: null,
      managed: true,
      native: true,
      ...o,
    });
    // Other tests' rows may share the store: only this test's volume counts.
    const mine = async () => (await s.store.pending(1000)).filter((q) => q.volumeId === v.id).map((q) => q.id);
    beforeEach(async () => {
      s = await make();
      v = await s.volume();
    });

    it('stores a quota as given, bytes and bigints intact, at generation 1 and nothing applied', async () => {
      const gbk = Buffer.from([0x2f, 0xd6, 0xd0, 0xce, 0xc4]);
      const q = await s.store.insert(
        row({ path: gbk, inode: 2n ** 62n, quota: { softBytes: 2n ** 60n, hardBytes: 2n ** 61n, softInodes: 5n, hardInodes: null, graceSeconds: 60 }, ownerSub: 'alice' }),
      );
      expect(q).toMatchObject({ inode: 2n ** 62n, generation: 1n, appliedGeneration: 0n, state: 'active', managed: true, observed: null, ownerSub: 'alice' });
      expect(q.path.equals(gbk)).toBe(true);
      const back = await s.store.find(v.tenantId, q.id);
      expect(back).toEqual(q);
      expect(await s.store.findByInode(v.tenantId, v.id, 2n ** 62n)).toEqual(q);
      expect(await s.store.find('other-tenant', q.id)).toBeUndefined();
    });

    it('refuses a second quota on the same inode of a volume', async () => {
      await s.store.insert(row({ inode: 9n }));
      await expect(s.store.insert(row({ inode: 9n }))).rejects.toBeInstanceOf(DirectoryQuotaExistsError);
    });

    it('lists by id, filters by owner, pages after an id', async () => {
      const a = await s.store.insert(row({ inode: 11n, ownerSub: 'alice' }));
      const b = await s.store.insert(row({ inode: 12n, ownerSub: 'bob' }));
      const c = await s.store.insert(row({ inode: 13n, ownerSub: 'alice' }));
      expect((await s.store.list(v.tenantId, v.id, { limit: 10 })).map((q) => q.id)).toEqual([a.id, b.id, c.id]);
      expect((await s.store.list(v.tenantId, v.id, { limit: 10, ownerSub: 'alice' })).map((q) => q.id)).toEqual([a.id, c.id]);
      expect((await s.store.list(v.tenantId, v.id, { limit: 1, afterId: a.id })).map((q) => q.id)).toEqual([b.id]);
      expect(await s.store.list('other-tenant', v.id, { limit: 10 })).toEqual([]);
    });

    it('bumps the generation only when asked, and records applies without ever going back', async () => {
      const q = await s.store.insert(row({ inode: 21n }));
      const u = (await s.store.update(v.tenantId, q.id, { quota: { ...noLimits, hardBytes: 100n }, bump: true }))!;
      expect(u).toMatchObject({ generation: 2n, quota: { hardBytes: 100n } });
      expect((await s.store.update(v.tenantId, q.id, { ownerSub: 'carol' }))!.generation).toBe(2n);
      expect(await mine()).toEqual([q.id]);
      expect(await s.store.recordApplied(v.tenantId, q.id, 2n, { maxSpace: 100n, maxInodes: -1n }, at(1))).toBe(true);
      expect(await s.store.recordApplied(v.tenantId, q.id, 1n, { maxSpace: 1n, maxInodes: 1n }, at(2))).toBe(false);
      const back = (await s.store.find(v.tenantId, q.id))!;
      expect(back).toMatchObject({ appliedGeneration: 2n, observed: { maxSpace: 100n, maxInodes: -1n }, ownerSub: 'carol', lastError: null });
      expect(await mine()).toEqual([]);
    });

    it('keeps apply errors until a later apply clears them', async () => {
      const q = await s.store.insert(row({ inode: 31n }));
      await s.store.recordApplyError(v.tenantId, q.id, 'engine down', at(3));
      expect(await s.store.find(v.tenantId, q.id)).toMatchObject({ lastError: 'engine down', lastErrorAt: at(3) });
      await s.store.recordApplied(v.tenantId, q.id, 1n, null, at(4));
      expect(await s.store.find(v.tenantId, q.id)).toMatchObject({ lastError: null, lastErrorAt: null, appliedGeneration: 1n });
    });

    it('lists deleting quotas as pending and removes them', async () => {
      const q = await s.store.insert(row({ inode: 41n, applied: true }));
      expect(await mine()).toEqual([]);
      await s.store.update(v.tenantId, q.id, { state: 'deleting' });
      expect(await mine()).toEqual([q.id]);
      expect(await s.store.remove('other-tenant', q.id)).toBe(false);
      expect(await s.store.remove(v.tenantId, q.id)).toBe(true);
      expect(await s.store.find(v.tenantId, q.id)).toBeUndefined();
    });

    it('keeps the enforcement state, the clamp of a freeze included, and lists what a pass enforces', async () => {
      const q = await s.store.insert(row({ inode: 61n }));
      expect(q.enforcement).toMatchObject({ state: 'ok', reason: null, graceDeadline: null, manual: null, desired: null, unknownReason: null });
      const e = {
        state: 'frozen' as const,
        since: at(5),
        reason: 'manual_freeze',
        graceDeadline: at(9),
        unknownReason: null,
        manual: { until: at(99), reason: 'audit' },
        desired: { maxSpace: 2n ** 40n, maxInodes: 1n },
      };
      await s.store.update(v.tenantId, q.id, { enforcement: e, bump: true });
      expect((await s.store.find(v.tenantId, q.id))!.enforcement).toEqual(e);
      const cleared = { ...e, state: 'ok' as const, manual: null, desired: null, graceDeadline: null };
      await s.store.update(v.tenantId, q.id, { enforcement: cleared });
      expect((await s.store.find(v.tenantId, q.id))!.enforcement).toEqual(cleared);
      await s.store.insert(row({ inode: 62n, managed: false }));
      await s.store.insert(row({ inode: 63n, native: false }));
      // Without native records, only soft limits give a pass something to decide (from walks).
      const walked = await s.store.insert(row({ inode: 65n, native: false, quota: { ...noLimits, softInodes: 3n } }));
      expect(walked.walkUsage).toBeNull();
      await s.store.recordWalkUsage(v.tenantId, walked.id, { bytes: 2n ** 50n, inodes: 4n, at: at(7) });
      expect((await s.store.find(v.tenantId, walked.id))!.walkUsage).toEqual({ bytes: 2n ** 50n, inodes: 4n, at: at(7) });
      const d = await s.store.insert(row({ inode: 64n }));
      await s.store.update(v.tenantId, d.id, { state: 'deleting' });
      const all = await s.store.enforceable({ limit: 1000 });
      expect(all.filter((x) => x.volumeId === v.id).map((x) => x.id)).toEqual([q.id, walked.id]);
      expect((await s.store.enforceable({ limit: 1000, afterId: q.id })).some((x) => x.id === q.id)).toBe(false);
    });

    it('commits a transaction with its audit rows, and rolls both back on a throw', async () => {
      await s.store.transaction(async ({ store, audit }) => {
        await store.insert(row({ inode: 51n }));
        await audit(actor, { action: 'directory_quota.created', entityType: 'volume', entityId: v.id, tenantId: v.tenantId, before: null, after: {} });
      });
      await expect(
        s.store.transaction(async ({ store, audit }) => {
          await store.insert(row({ inode: 52n }));
          await audit(actor, { action: 'directory_quota.doomed', entityType: 'volume', entityId: v.id, tenantId: v.tenantId, before: null, after: {} });
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      expect(await s.store.findByInode(v.tenantId, v.id, 51n)).toBeDefined();
      expect(await s.store.findByInode(v.tenantId, v.id, 52n)).toBeUndefined();
      expect(await s.auditActions(v.id)).toEqual(['directory_quota.created']);
    });
  });
}
