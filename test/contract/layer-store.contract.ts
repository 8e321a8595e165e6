/**
 * The contract every {@link LayerStore} keeps, run against the PostgreSQL store
 * (test/e2e/knex-layer-store.e2e.test.ts) and the in-memory fake
 * (test/unit/enforcement/fake-layer-store.test.ts), so the fake the applier's unit tests use
 * cannot drift from the real thing.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { layerKey, type LayerStore } from '../../server/enforcement/layer-store.js';

/** A store under test, and a way to make a volume it may record layers for. */
export interface LayerStoreSubject {
  store: LayerStore;
  /** Creates (or pretends to) a volume of tenant `t`; returns its id. */
  volume(): Promise<{ id: string; tenantId: string }>;
}

const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 0, 0, s));

/** Registers the contract suite for one implementation. */
export function layerStoreContract(name: string, make: () => Promise<LayerStoreSubject>): void {
  describe(`LayerStore contract: ${name}`, () => {
    let s: LayerStoreSubject;
    beforeEach(async () => {
      s = await make();
    });

    it('knows nothing of a volume never applied or verified', async () => {
      const v = await s.volume();
      expect(await s.store.load([v.id])).toEqual(new Map());
      expect(await s.store.appliedGenerations(v.id)).toEqual(new Map());
    });

    it('records applies, and never lowers the applied generation', async () => {
      const v = await s.volume();
      const base = { volumeId: v.id, tenantId: v.tenantId, layer: 'metadata' as const };
      expect(await s.store.recordApplied({ ...base, generation: 2n, observed: { capacity: '10', inodes: '0' }, at: at(1) })).toBe(true);
      expect(await s.store.recordApplied({ ...base, generation: 1n, observed: { capacity: '99', inodes: '0' }, at: at(2) })).toBe(false);
      expect(await s.store.recordApplied({ ...base, generation: 2n, observed: { capacity: '10', inodes: '0' }, at: at(3) })).toBe(true); // the same again is fine
      const row = (await s.store.load([v.id])).get(layerKey(v.id, 'metadata'))!;
      expect(row).toMatchObject({ appliedGeneration: 2n, observed: { capacity: '10', inodes: '0' }, verifiedAt: at(3), attempts: 0, lastError: null });
      expect(await s.store.appliedGenerations(v.id)).toEqual(new Map([['metadata', 2n]]));
    });

    it('counts failed applies with their retry times, and a success clears them', async () => {
      const v = await s.volume();
      const base = { volumeId: v.id, tenantId: v.tenantId, layer: 'storage' as const };
      const retryAt = (n: number) => at(10 * n);
      expect(await s.store.recordApplyFailure({ ...base, error: 'filer down', at: at(1), retryAt })).toBe(1);
      expect(await s.store.recordApplyFailure({ ...base, error: 'filer still down', at: at(2), retryAt })).toBe(2);
      let row = (await s.store.load([v.id])).get(layerKey(v.id, 'storage'))!;
      expect(row).toMatchObject({ attempts: 2, lastError: 'filer still down', lastErrorAt: at(2), retryAt: at(20), appliedGeneration: 0n });
      await s.store.recordApplied({ ...base, generation: 1n, observed: { frozen: true }, at: at(3) });
      row = (await s.store.load([v.id])).get(layerKey(v.id, 'storage'))!;
      expect(row).toMatchObject({ attempts: 0, lastError: null, lastErrorAt: null, retryAt: null, observed: { frozen: true } });
    });

    it('records verifications in bulk, and drifts with when the layer drifted before', async () => {
      const a = await s.volume();
      const b = await s.volume();
      await s.store.recordVerified(
        [
          { volumeId: a.id, tenantId: a.tenantId, layer: 'metadata', observed: { capacity: '5', inodes: '0' } },
          { volumeId: b.id, tenantId: b.tenantId, layer: 'storage', observed: { frozen: false } },
        ],
        at(4),
      );
      const rows = await s.store.load([a.id, b.id]);
      expect(rows.get(layerKey(a.id, 'metadata'))).toMatchObject({ verifiedAt: at(4), observed: { capacity: '5', inodes: '0' }, drifts: 0 });
      expect(rows.get(layerKey(b.id, 'storage'))).toMatchObject({ verifiedAt: at(4), observed: { frozen: false } });
      const drift = { volumeId: a.id, tenantId: a.tenantId, layer: 'metadata' as const, observed: { capacity: '0', inodes: '0' } };
      expect(await s.store.recordDrift({ ...drift, at: at(5) })).toBeNull();
      expect(await s.store.recordDrift({ ...drift, at: at(6) })).toEqual(at(5));
      expect((await s.store.load([a.id])).get(layerKey(a.id, 'metadata'))).toMatchObject({ drifts: 2, lastDriftAt: at(6), observed: { capacity: '0', inodes: '0' } });
    });

    it('reads briefly what a pass decides on: generations and times, no observed values or errors', async () => {
      const v = await s.volume();
      await s.store.recordApplyFailure({ volumeId: v.id, tenantId: v.tenantId, layer: 'metadata', error: 'x', at: at(1), retryAt: () => at(9) });
      const row = (await s.store.load([v.id], { brief: true })).get(layerKey(v.id, 'metadata'))!;
      expect(row).toMatchObject({ appliedGeneration: 0n, retryAt: at(9), attempts: 1, observed: null, lastError: null });
    });
  });
}
