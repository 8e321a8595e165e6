/** {@link InsightStore} in memory, for unit tests; passes the same contract as the knex store. */
import type { Db } from '../db/database.js';
import type { Finding, RuleSetting } from './insight-rules.js';
import type { InsightDirectory, InsightStore, InsightWalk } from './insight-store.js';

const clone = <T>(v: T): T => structuredClone(v);

/** In-memory insights. */
export class FakeInsightStore implements InsightStore {
  private readonly walks = new Map<string, { walk: InsightWalk; findings: Finding[]; directories: InsightDirectory[] }>();
  private readonly settings = new Map<string, RuleSetting & { updatedBy: string }>();

  in(_trx: Db): InsightStore {
    return this;
  }

  async saveWalk(tenantId: string, walk: InsightWalk, findings: readonly Finding[], directories: readonly InsightDirectory[]): Promise<void> {
    if (this.walks.has(walk.walkId)) throw new Error(`duplicate key: insight walk ${walk.walkId}`);
    this.walks.set(walk.walkId, { walk: clone({ ...walk, tenantId }), findings: clone([...findings]), directories: clone([...directories]) });
  }

  private ofVolume(tenantId: string, volumeId: string) {
    return [...this.walks.values()]
      .filter((w) => w.walk.tenantId === tenantId && w.walk.volumeId === volumeId)
      .sort((a, b) => b.walk.walkedAt.getTime() - a.walk.walkedAt.getTime() || (b.walk.walkId > a.walk.walkId ? 1 : -1));
  }

  async recentWalks(tenantId: string, volumeId: string, limit: number): Promise<InsightWalk[]> {
    return this.ofVolume(tenantId, volumeId)
      .slice(0, limit)
      .map((w) => clone(w.walk));
  }

  async findings(tenantId: string, walkId: string): Promise<Finding[]> {
    const w = this.walks.get(walkId);
    return w && w.walk.tenantId === tenantId ? clone(w.findings) : [];
  }

  async directories(tenantId: string, walkId: string, opts: { maxDepth?: number; limit?: number } = {}): Promise<InsightDirectory[]> {
    const w = this.walks.get(walkId);
    if (!w || w.walk.tenantId !== tenantId) return [];
    return clone(
      w.directories
        .filter((d) => opts.maxDepth === undefined || d.depth <= opts.maxDepth)
        .sort((a, b) => (b.bytes > a.bytes ? 1 : b.bytes < a.bytes ? -1 : a.pathBase64 < b.pathBase64 ? -1 : 1))
        .slice(0, opts.limit ?? Infinity),
    );
  }

  async pruneDirectories(tenantId: string, volumeId: string, keepWalks: number): Promise<number> {
    let n = 0;
    for (const w of this.ofVolume(tenantId, volumeId).slice(keepWalks)) {
      n += w.directories.length;
      w.directories = [];
    }
    return n;
  }

  async ruleSettings(): Promise<RuleSetting[]> {
    return [...this.settings.values()].sort((a, b) => a.rule.localeCompare(b.rule)).map((s) => clone({ rule: s.rule, enabled: s.enabled, params: s.params }));
  }

  async saveRuleSetting(s: RuleSetting, updatedBy: string): Promise<void> {
    this.settings.set(s.rule, clone({ ...s, updatedBy }));
  }
}
