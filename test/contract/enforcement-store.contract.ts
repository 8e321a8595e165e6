/**
 * The contract every {@link EnforcementStore} keeps, run against the PostgreSQL store
 * (test/e2e/knex-feature-stores.e2e.test.ts) and the in-memory fake
 * (test/unit/enforcement/fake-enforcement-store.test.ts), so the fake the services' unit tests
 * use cannot drift from the real thing. Tests share a store: each uses volumes of its own (and
 * counts by state as differences).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { initialState, type EnforcementStore, type StateRow } from '../../server/enforcement/enforcement-store.js';

/** A store under test. */
export interface EnforcementStoreSubject {
  store: EnforcementStore;
  /** A volume that may have a state (PostgreSQL: its tenant and volume rows). */
  volume(): Promise<{ tenantId: string; volumeId: string }>;
}

const at = (s: string) => new Date(`2026-11-0${s}Z`);
const near = (d: Date | null | undefined) => Math.abs((d?.getTime() ?? 0) - Date.now()) < 60_000;

/** A state with every field set, as a decision writes it. */
const full = (volumeId: string, tenantId: string): StateRow => ({
  ...initialState(volumeId, tenantId, at('1T10:00:00')),
  state: 'frozen',
  reason: 'manual_freeze',
  graceDeadline: at('2T10:00:00'),
  bytes: 2n ** 60n,
  inodes: 12n,
  readAt: at('1T10:05:00'),
  unknownReason: 'walk disagrees',
  unknownSince: at('1T10:06:00'),
  manual: { reason: 'abuse', until: at('3T00:00:00'), by: 'root', at: at('1T10:07:00') },
  desiredCapacity: 2n ** 60n,
  desiredInodes: 13n,
  metadataGeneration: 4n,
  evaluatedAt: at('1T10:08:00'),
  storageDesired: true,
  storageGeneration: 2n,
});

/** Registers the contract suite for one implementation. */
export function enforcementStoreContract(name: string, make: () => Promise<EnforcementStoreSubject>): void {
  describe(`EnforcementStore contract: ${name}`, () => {
    let s: EnforcementStoreSubject;
    let store: EnforcementStore;
    beforeEach(async () => {
      s = await make();
      store = s.store;
    });

    it('ensures a first state to lock, and leaves an existing one alone', async () => {
      const { volumeId, tenantId } = await s.volume();
      expect(await store.findState(volumeId)).toBeUndefined();
      await store.ensureState(volumeId, tenantId);
      const first = (await store.findState(volumeId, { forUpdate: true }))!;
      expect(near(first.since)).toBe(true);
      expect(first).toEqual({ ...initialState(volumeId, tenantId, first.since) });
      await store.saveState(full(volumeId, tenantId));
      await store.ensureState(volumeId, tenantId);
      expect((await store.findState(volumeId))!.state).toBe('frozen');
    });

    it('saves and finds the whole row; saving leaves the forecast check alone', async () => {
      const { volumeId, tenantId } = await s.volume();
      await store.saveState(full(volumeId, tenantId));
      expect(await store.findState(volumeId)).toEqual(full(volumeId, tenantId));
      await store.markForecastChecked([{ volumeId, tenantId }], at('4T00:00:00'));
      await store.saveState({ ...full(volumeId, tenantId), manual: null, state: 'ok', reason: 'manual_unfreeze' });
      expect(await store.findState(volumeId)).toEqual({ ...full(volumeId, tenantId), manual: null, state: 'ok', reason: 'manual_unfreeze', forecastCheckedAt: at('4T00:00:00') });
    });

    it('seeds the first state with the applied limits at generation 0, never over an existing one', async () => {
      const a = await s.volume();
      const b = await s.volume();
      await store.seedState(a.volumeId, a.tenantId, { capacity: 100n, inodes: 0n });
      expect(await store.findState(a.volumeId)).toMatchObject({ state: 'ok', reason: 'within_limits', desiredCapacity: 100n, desiredInodes: 0n, metadataGeneration: 0n });
      await store.saveState(full(b.volumeId, b.tenantId));
      await store.seedState(b.volumeId, b.tenantId, { capacity: 1n, inodes: 1n });
      expect(await store.findState(b.volumeId)).toEqual(full(b.volumeId, b.tenantId));
    });

    it('sets the desired storage rule one generation up only when it changes', async () => {
      const { volumeId, tenantId } = await s.volume();
      await store.setStorageDesired(volumeId, true);
      expect(await store.findState(volumeId)).toBeUndefined();
      await store.ensureState(volumeId, tenantId);
      await store.setStorageDesired(volumeId, false);
      expect(await store.findState(volumeId)).toMatchObject({ storageDesired: false, storageGeneration: 0n });
      await store.setStorageDesired(volumeId, true);
      await store.setStorageDesired(volumeId, true);
      expect(await store.findState(volumeId)).toMatchObject({ storageDesired: true, storageGeneration: 1n });
      await store.setStorageDesired(volumeId, false);
      expect(await store.findState(volumeId)).toMatchObject({ storageDesired: false, storageGeneration: 2n });
    });

    it('marks forecasts checked, creating a missing state as ok', async () => {
      const a = await s.volume();
      const b = await s.volume();
      await store.saveState(full(a.volumeId, a.tenantId));
      await store.markForecastChecked([a, b], at('5T00:00:00'));
      expect(await store.findState(a.volumeId)).toEqual({ ...full(a.volumeId, a.tenantId), forecastCheckedAt: at('5T00:00:00') });
      expect(await store.findState(b.volumeId)).toMatchObject({ state: 'ok', reason: 'within_limits', forecastCheckedAt: at('5T00:00:00') });
      await store.markForecastChecked([], at('6T00:00:00'));
    });

    it('loads many states, and a versioned load returns only the rows changed since the versions held', async () => {
      const vols = [await s.volume(), await s.volume(), await s.volume()];
      const ids = vols.map((v) => v.volumeId);
      for (const v of vols.slice(0, 2)) await store.ensureState(v.volumeId, v.tenantId);
      expect([...(await store.loadStates(ids)).keys()].sort()).toEqual(ids.slice(0, 2).sort());
      const first = await store.loadStatesVersioned(ids, { keys: [], versions: [] });
      expect([...first.changed.keys()].sort()).toEqual(ids.slice(0, 2).sort());
      expect(first.unchanged).toBe(0);
      const held = { keys: [...first.changed.keys()], versions: [...first.changed.values()].map((c) => c.version) };
      expect(await store.loadStatesVersioned(ids, held)).toEqual({ changed: new Map(), unchanged: 2 });
      await store.saveState({ ...first.changed.get(ids[1]!)!.row, state: 'over_soft' });
      const again = await store.loadStatesVersioned(ids, held);
      expect([...again.changed.keys()]).toEqual([ids[1]]);
      expect(again.changed.get(ids[1]!)!.row.state).toBe('over_soft');
      expect(again.changed.get(ids[1]!)!.version).not.toBe(first.changed.get(ids[1]!)!.version);
      expect(again.unchanged).toBe(1);
      // Only the page counts: rows held of other volumes are neither returned nor counted.
      expect(await store.loadStatesVersioned([ids[2]!], held)).toEqual({ changed: new Map(), unchanged: 0 });
    });

    it('appends transitions and lists a volume’s newest first', async () => {
      const { volumeId, tenantId } = await s.volume();
      const other = await s.volume();
      const t = (to: string) => ({
        from: 'ok',
        to,
        reason: 'hard_bytes_reached',
        bytes: 2n ** 60n,
        inodes: null,
        limits: { hardBytes: '100', softBytes: null },
        actor: 'system:enforcer',
        detail: to === 'frozen' ? 'why' : null,
      });
      await store.insertTransition(volumeId, tenantId, t('over_soft'));
      await store.insertTransition(other.volumeId, other.tenantId, t('ok'));
      await store.insertTransition(volumeId, tenantId, t('frozen'));
      const list = await store.listTransitions(volumeId, 10);
      expect(list.map((x) => x.to)).toEqual(['frozen', 'over_soft']);
      expect(list[0]).toMatchObject({
        from: 'ok',
        reason: 'hard_bytes_reached',
        bytes: 2n ** 60n,
        inodes: null,
        limits: { hardBytes: '100', softBytes: null },
        actor: 'system:enforcer',
        detail: 'why',
      });
      expect(BigInt(list[0]!.id)).toBeGreaterThan(BigInt(list[1]!.id));
      expect(near(list[0]!.at)).toBe(true);
      expect((await store.listTransitions(volumeId, 1)).map((x) => x.to)).toEqual(['frozen']);
    });

    it('counts volumes per state and those with an unknown reason', async () => {
      const before = await store.countByState();
      const a = await s.volume();
      const b = await s.volume();
      await store.ensureState(a.volumeId, a.tenantId);
      await store.saveState(full(b.volumeId, b.tenantId));
      const after = await store.countByState();
      const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
      expect([delta('ok'), delta('frozen'), delta('over_soft'), delta('unknown')]).toEqual([1, 1, 0, 1]);
    });
  });
}
