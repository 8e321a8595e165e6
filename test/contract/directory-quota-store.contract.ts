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

    it('keeps a raw sample only when usage moved or the last one is an hour old, per quota and tenant', async () => {
      const a = await s.store.insert(row({ inode: 71n }));
      const b = await s.store.insert(row({ inode: 72n }));
      const sample = (q: { id: string }, sec: number, bytes: bigint, inodes = 1n, tenantId = v.tenantId) => ({ quotaId: q.id, tenantId, at: at(sec), bytes, inodes });
      expect(await s.store.recordSamples([sample(a, 0, 100n), sample(b, 0, 2n ** 60n, 5n)])).toBe(2);
      // Half an hour on: a is still (nothing kept), b's inodes moved.
      expect(await s.store.recordSamples([sample(a, 1800, 100n), sample(b, 1800, 2n ** 60n, 6n)])).toBe(1);
      expect(await s.store.recordSamples([sample(a, 3661, 100n)])).toBe(1); // over an hour since a's last
      expect(await s.store.recordSamples([sample(a, 3661, 200n)])).toBe(0); // one per instant
      expect(await s.store.recordSamples([sample(a, 4000, 300n, 1n, 'other-tenant'), sample({ id: 'dq_gone' }, 4000, 1n)])).toBe(0);
      expect(await s.store.recordSamples([])).toBe(0);
      const all = { since: at(0), until: at(9999) };
      expect(await s.store.listSamples(v.tenantId, a.id, all)).toEqual([
        { at: at(0), bytes: 100n, inodes: 1n, resolution: 'raw' },
        { at: at(3661), bytes: 100n, inodes: 1n, resolution: 'raw' },
      ]);
      expect(await s.store.listSamples(v.tenantId, b.id, all)).toEqual([
        { at: at(0), bytes: 2n ** 60n, inodes: 5n, resolution: 'raw' },
        { at: at(1800), bytes: 2n ** 60n, inodes: 6n, resolution: 'raw' },
      ]);
      // [since, until), one resolution, one tenant.
      expect((await s.store.listSamples(v.tenantId, a.id, { since: at(1), until: at(3661) })).length).toBe(0);
      expect((await s.store.listSamples(v.tenantId, b.id, { since: at(0), until: at(1801), resolution: 'raw' })).map((x) => x.at)).toEqual([at(0), at(1800)]);
      expect(await s.store.listSamples(v.tenantId, b.id, { ...all, resolution: 'hour' })).toEqual([]);
      expect(await s.store.listSamples('other-tenant', a.id, all)).toEqual([]);
      // The history goes with its quota.
      await s.store.remove(v.tenantId, a.id);
      expect(await s.store.listSamples(v.tenantId, a.id, all)).toEqual([]);
    });

    it('folds samples into hourly maxima after two days and daily ones after five weeks, prunes after two years, idempotently', async () => {
      const q = await s.store.insert(row({ inode: 81n }));
      const t = (iso: string) => new Date(iso);
      const raw = (iso: string, bytes: bigint, inodes = 1n) => ({ quotaId: q.id, tenantId: v.tenantId, at: t(iso), bytes, inodes });
      // Long before any other test's samples, so only these are old enough to fold.
      const now = t('2026-06-10T12:00:00Z');
      await s.store.recordSamples([
        raw('2024-05-01T00:00:00Z', 1n),
        raw('2026-04-01T05:10:00Z', 50n),
        raw('2026-04-01T07:20:00Z', 70n),
        raw('2026-06-07T10:05:00Z', 100n, 1n),
        raw('2026-06-07T10:35:00Z', 300n, 2n),
        raw('2026-06-07T10:50:00Z', 200n, 5n),
        raw('2026-06-10T11:00:00Z', 900n),
      ]);
      // Raw → hour: 2024-05-01 00h, 04-01 05h and 07h, 06-07 10h; hour → day: 2024-05-01, 04-01; 2024's day pruned.
      expect(await s.store.downsampleSamples(now)).toEqual({ folded: 6, pruned: 1 });
      const all = { since: t('2020-01-01T00:00:00Z'), until: t('2030-01-01T00:00:00Z') };
      const expected = [
        { at: t('2026-04-01T00:00:00Z'), bytes: 70n, inodes: 1n, resolution: 'day' },
        { at: t('2026-06-07T10:00:00Z'), bytes: 300n, inodes: 5n, resolution: 'hour' },
        { at: t('2026-06-10T11:00:00Z'), bytes: 900n, inodes: 1n, resolution: 'raw' },
      ];
      expect(await s.store.listSamples(v.tenantId, q.id, all)).toEqual(expected);
      expect(await s.store.downsampleSamples(now)).toEqual({ folded: 0, pruned: 0 });
      expect(await s.store.listSamples(v.tenantId, q.id, all)).toEqual(expected);
      // A late sample of a folded hour merges into its maximum, never below it.
      expect(await s.store.recordSamples([raw('2026-06-07T10:40:00Z', 250n, 9n)])).toBe(1);
      expect(await s.store.downsampleSamples(now)).toEqual({ folded: 1, pruned: 0 });
      expect(await s.store.listSamples(v.tenantId, q.id, { ...all, resolution: 'hour' })).toEqual([{ at: t('2026-06-07T10:00:00Z'), bytes: 300n, inodes: 9n, resolution: 'hour' }]);
    });
  });
}
