/** {@link InsightStore} over PostgreSQL (tables of migrations/20261201000300_create_insights.ts). */
import type { Db } from '../db/database.js';
import type { DirectoryProfile } from '../meta/volume-metadata.js';
import type { Finding, RuleId, RuleParams, RuleSetting } from './insight-rules.js';
import type { InsightDirectory, InsightStore, InsightSummary, InsightWalk } from './insight-store.js';

interface WalkRow {
  walk_id: string;
  volume_id: string;
  tenant_id: string;
  walked_at: Date;
  bytes: bigint;
  files: bigint;
  inodes: bigint;
  trash_bytes: bigint;
  reclaimable_bytes: bigint;
  summary: InsightSummary;
}

const fromWalk = (r: WalkRow): InsightWalk => ({
  walkId: r.walk_id,
  volumeId: r.volume_id,
  tenantId: r.tenant_id,
  walkedAt: r.walked_at,
  bytes: r.bytes,
  files: r.files,
  inodes: r.inodes,
  trashBytes: r.trash_bytes,
  reclaimableBytes: r.reclaimable_bytes,
  summary: r.summary,
});

/** bigint-safe JSON for JSONB columns (finding details hold only numbers and strings). */
const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));

/** PostgreSQL store of insights. */
export class KnexInsightStore implements InsightStore {
  constructor(private readonly db: Db) {}

  in(trx: Db): InsightStore {
    return new KnexInsightStore(trx);
  }

  async saveWalk(tenantId: string, w: InsightWalk, findings: readonly Finding[], directories: readonly InsightDirectory[]): Promise<void> {
    await this.db('insight_walks').insert({
      walk_id: w.walkId,
      volume_id: w.volumeId,
      tenant_id: tenantId,
      walked_at: w.walkedAt,
      bytes: w.bytes.toString(),
      files: w.files.toString(),
      inodes: w.inodes.toString(),
      trash_bytes: w.trashBytes.toString(),
      reclaimable_bytes: w.reclaimableBytes.toString(),
      summary: json(w.summary),
    });
    const rows = findings.map((f, i) => ({
      walk_id: w.walkId,
      ordinal: i,
      rule: f.rule,
      paths: json(f.paths),
      bytes: f.bytes.toString(),
      files: f.files.toString(),
      reclaimable_bytes: f.reclaimableBytes.toString(),
      details: json(f.details),
    }));
    for (let i = 0; i < rows.length; i += 500) await this.db('insight_findings').insert(rows.slice(i, i + 500));
    const dirs = directories.map((d) => ({
      walk_id: w.walkId,
      path_b64: d.pathBase64,
      path: d.path,
      depth: d.depth,
      bytes: d.bytes.toString(),
      files: d.files.toString(),
      profile: d.profile ? json(d.profile) : null,
    }));
    for (let i = 0; i < dirs.length; i += 1000) await this.db('insight_directories').insert(dirs.slice(i, i + 1000));
  }

  async recentWalks(tenantId: string, volumeId: string, limit: number): Promise<InsightWalk[]> {
    const rows = (await this.db('insight_walks')
      .where({ tenant_id: tenantId, volume_id: volumeId })
      .orderBy([
        { column: 'walked_at', order: 'desc' },
        { column: 'walk_id', order: 'desc' },
      ])
      .limit(limit)) as WalkRow[];
    return rows.map(fromWalk);
  }

  async findings(tenantId: string, walkId: string): Promise<Finding[]> {
    const rows = (await this.db('insight_findings as f')
      .join('insight_walks as w', 'w.walk_id', 'f.walk_id')
      .where({ 'w.tenant_id': tenantId, 'f.walk_id': walkId })
      .orderBy('f.ordinal')
      .select('f.*')) as Array<{ rule: RuleId; paths: string[]; bytes: bigint; files: bigint; reclaimable_bytes: bigint; details: Record<string, unknown> }>;
    return rows.map((r) => ({ rule: r.rule, paths: r.paths, bytes: r.bytes, files: r.files, reclaimableBytes: r.reclaimable_bytes, details: r.details }));
  }

  async directories(tenantId: string, walkId: string, opts: { maxDepth?: number; limit?: number } = {}): Promise<InsightDirectory[]> {
    const q = this.db('insight_directories as d')
      .join('insight_walks as w', 'w.walk_id', 'd.walk_id')
      .where({ 'w.tenant_id': tenantId, 'd.walk_id': walkId })
      .orderBy([
        { column: 'd.bytes', order: 'desc' },
        { column: 'd.path_b64', order: 'asc' },
      ])
      .select('d.*');
    if (opts.maxDepth !== undefined) q.where('d.depth', '<=', opts.maxDepth);
    if (opts.limit !== undefined) q.limit(opts.limit);
    const rows = (await q) as Array<{ path_b64: string; path: string; depth: number; bytes: bigint; files: bigint; profile: DirectoryProfile | null }>;
    return rows.map((r) => ({ pathBase64: r.path_b64, path: r.path, depth: r.depth, bytes: r.bytes, files: r.files, profile: r.profile }));
  }

  async pruneDirectories(tenantId: string, volumeId: string, keepWalks: number): Promise<number> {
    const keep = this.db('insight_walks')
      .where({ tenant_id: tenantId, volume_id: volumeId })
      .orderBy([
        { column: 'walked_at', order: 'desc' },
        { column: 'walk_id', order: 'desc' },
      ])
      .limit(keepWalks)
      .select('walk_id');
    return this.db('insight_directories')
      .whereIn('walk_id', this.db('insight_walks').where({ tenant_id: tenantId, volume_id: volumeId }).select('walk_id'))
      .whereNotIn('walk_id', keep)
      .delete();
  }

  async ruleSettings(): Promise<RuleSetting[]> {
    const rows = (await this.db('insight_rule_settings').orderBy('rule')) as Array<{ rule: RuleId; enabled: boolean; params: RuleParams }>;
    return rows.map((r) => ({ rule: r.rule, enabled: r.enabled, params: r.params }));
  }

  async saveRuleSetting(s: RuleSetting, updatedBy: string): Promise<void> {
    await this.db('insight_rule_settings')
      .insert({ rule: s.rule, enabled: s.enabled, params: json(s.params), updated_by: updatedBy, updated_at: this.db.fn.now() })
      .onConflict('rule')
      .merge();
  }
}
