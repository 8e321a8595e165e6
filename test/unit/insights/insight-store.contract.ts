/**
 * The contract every {@link InsightStore} keeps, run against the fake (unit) and the knex store
 * (test/e2e/insights.e2e.test.ts). `prepare` creates whatever a walk's row refers to (the knex
 * store needs real tenant, volume and walk rows).
 */
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../server/insights/insight-rules.js';
import type { InsightDirectory, InsightStore, InsightWalk } from '../../../server/insights/insight-store.js';

export interface ContractSetup {
  store: InsightStore;
  /** A tenant and a volume of it, and two walks of that volume, as the store may refer to them. */
  prepare(): Promise<{ tenantId: string; volumeId: string; walkIds: [string, string] }>;
}

const summary = { ages: [{ bucket: 'lt7d', bytes: 1, files: 1 }], sizes: [], types: [{ type: 'pt', bytes: 5, files: 1 }], largestFiles: [], staleDirectories: [] };
const walk = (tenantId: string, volumeId: string, walkId: string, at: string, bytes: bigint): InsightWalk => ({
  walkId,
  volumeId,
  tenantId,
  walkedAt: new Date(at),
  bytes,
  files: 3n,
  inodes: 7n,
  trashBytes: 0n,
  reclaimableBytes: 9n,
  summary,
});
const finding = (rule: Finding['rule'], reclaimable: bigint): Finding => ({ rule, paths: ['/a'], bytes: 1n << 40n, files: 2n, reclaimableBytes: reclaimable, details: { kept: ['x'], n: 1 } });
const dir = (path: string, bytes: bigint, depth = 1): InsightDirectory => ({ pathBase64: Buffer.from(path).toString('base64'), path, depth, bytes, files: 1n, profile: null });

/** Registers the contract suite. */
export function insightStoreContract(name: string, setup: () => Promise<ContractSetup>): void {
  describe(`insight store contract: ${name}`, () => {
    it('keeps walks per volume newest first, with findings in order and directories largest first', async () => {
      const { store, prepare } = await setup();
      const { tenantId: t, volumeId: v, walkIds } = await prepare();
      const [s1, s2] = walkIds;
      await store.saveWalk(t, walk(t, v, s1, '2026-11-30T00:00:00Z', 100n), [finding('trash', 5n), finding('pycache', 1n)], [dir('/', 100n, 0), dir('/a', 60n), dir('/a/b', 50n, 2)]);
      await store.saveWalk(t, walk(t, v, s2, '2026-12-01T00:00:00Z', 200n), [], [dir('/', 200n, 0)]);
      const walks = await store.recentWalks(t, v, 10);
      expect(walks.map((w) => w.walkId)).toEqual([s2, s1]);
      expect(walks[1]).toEqual(walk(t, v, s1, '2026-11-30T00:00:00Z', 100n));
      expect(await store.recentWalks(t, v, 1)).toHaveLength(1);
      expect(await store.findings(t, s1)).toEqual([finding('trash', 5n), finding('pycache', 1n)]);
      expect((await store.directories(t, s1)).map((d) => d.path)).toEqual(['/', '/a', '/a/b']);
      expect(await store.directories(t, s1, { maxDepth: 1, limit: 1 })).toEqual([dir('/', 100n, 0)]);
      // Another tenant sees nothing of it.
      expect(await store.recentWalks('other', v, 10)).toEqual([]);
      expect(await store.findings('other', s1)).toEqual([]);
      expect(await store.directories('other', s1)).toEqual([]);
      // Pruning keeps the newest walk's directories only; findings stay.
      expect(await store.pruneDirectories(t, v, 1)).toBe(3);
      expect(await store.directories(t, s1)).toEqual([]);
      expect(await store.directories(t, s2)).toHaveLength(1);
      expect(await store.findings(t, s1)).toHaveLength(2);
    });

    it('stores rule settings, one per rule, the last write winning', async () => {
      const { store } = await setup();
      await store.saveRuleSetting({ rule: 'trash', enabled: false, params: { minBytes: 1 } }, 'root');
      await store.saveRuleSetting({ rule: 'checkpoint-series', enabled: true, params: { minBytes: 0, keep: 2 } }, 'root');
      await store.saveRuleSetting({ rule: 'trash', enabled: true, params: { minBytes: 2 } }, 'root');
      expect(await store.ruleSettings()).toEqual([
        { rule: 'checkpoint-series', enabled: true, params: { minBytes: 0, keep: 2 } },
        { rule: 'trash', enabled: true, params: { minBytes: 2 } },
      ]);
    });
  });
}
