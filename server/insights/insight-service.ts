/**
 * "What is eating my quota": the findings of each walk, kept per walk, served with the walk they
 * came from and how the volume changed since the walk before; and the admins' rule settings.
 *
 * Findings are computed when a walk succeeds, inside the walk service's success transaction (the
 * walk's rows, its insights and its audit row commit together; the rules are pure, no external
 * call happens there), with the rule settings of that moment, so a stored walk keeps the findings
 * it was shown with.
 */
import type { Knex } from 'knex';
import type { Actor } from '../audit/audit-log.js';
import { recordAudit } from '../audit/audit-log.js';
import type { Principal } from '../auth/principal.js';
import { inTransaction } from '../db/database.js';
import { errors } from '../lib/errors.js';
import type { WalkOutcome } from '../meta/volume-metadata.js';
import type { Volume } from '../volumes/volume.js';
import { describeFinding, describeGrowth, type InsightLanguage } from './insight-messages.js';
import { RULES, defaultSettings, runRules, type Finding, type RuleId, type RuleParams, type RuleSetting } from './insight-rules.js';
import type { InsightStore, InsightWalk } from './insight-store.js';
import { compareDirectories, selectDirectories, summarize, type Growth } from './insight-summary.js';
import { WalkTree } from './walk-tree.js';

/** What the service needs of volumes and tenants (their services, structurally). */
export interface InsightDeps {
  volumes: { get(principal: Principal, volumeId: string): Promise<Volume> };
  tenants: { get(principal: Principal, tenantId: string): Promise<{ language: InsightLanguage }> };
}

/** Settings of the service. */
export interface InsightOptions {
  /** The volumes' TrashDays (Headroom formats volumes with it; JuiceFS's default is 1). */
  trashDays: number;
  /** Directories stored per walk for comparisons. */
  storedDirectories: number;
  /** Walks whose directories are kept (the newest; older walks keep totals and findings). */
  directoryWalks: number;
}

/** A finding as served: the stored figures plus words in the tenant's language. */
export type DescribedFinding = Finding & { title: string; suggestion: string };

/** What `GET /v1/volumes/{id}/insights` answers. */
export interface VolumeInsights {
  volumeId: string;
  language: InsightLanguage;
  walk: InsightWalk | null;
  findings: DescribedFinding[];
  directories: Awaited<ReturnType<InsightStore['directories']>>;
  comparison: { previous: InsightWalk; bytesDelta: bigint; filesDelta: bigint; summary: string; growth: Growth[] } | null;
  history: Array<InsightWalk & { findings: number }>;
}

/** Insights of walks, and the rule settings. */
export class InsightService {
  constructor(
    private readonly db: Knex,
    private readonly store: InsightStore,
    private readonly deps: InsightDeps,
    private readonly opts: InsightOptions,
  ) {}

  /**
   * Computes and stores a succeeded walk's insights, in the walk service's transaction `trx`. A walk
   * without enrichment (profile) still gets its directory findings (trash, caches, envs).
   */
  async walkSucceeded(trx: Knex.Transaction, volume: Pick<Volume, 'id' | 'tenantId'>, walkId: string, outcome: WalkOutcome, walkedAt: Date): Promise<void> {
    const store = this.store.in(trx);
    const settings = mergeSettings(await store.ruleSettings());
    const tree = new WalkTree(outcome.directories);
    const now = outcome.profile?.at ?? Math.floor(walkedAt.getTime() / 1000);
    const findings = runRules({ tree, now, trashDays: this.opts.trashDays }, settings);
    const root = tree.dirs.find((d) => d.path === '/');
    await store.saveWalk(
      volume.tenantId,
      {
        walkId,
        volumeId: volume.id,
        tenantId: volume.tenantId,
        walkedAt,
        bytes: outcome.totals.bytes,
        files: root?.files ?? 0n,
        inodes: outcome.totals.inodes,
        trashBytes: outcome.trash.bytes,
        reclaimableBytes: findings.reduce((a, f) => a + f.reclaimableBytes, 0n),
        summary: summarize(outcome, tree, now),
      },
      findings,
      selectDirectories(tree, this.opts.storedDirectories),
    );
    await store.pruneDirectories(volume.tenantId, volume.id, this.opts.directoryWalks);
  }

  /** The latest walk's findings (largest reclaimable first), the walk before it for comparison, and the history. */
  async insights(principal: Principal, volumeId: string, opts: { history: number }): Promise<VolumeInsights> {
    const v = await this.deps.volumes.get(principal, volumeId);
    const { language } = await this.deps.tenants.get(principal, v.tenantId);
    const walks = await this.store.recentWalks(v.tenantId, v.id, Math.max(2, opts.history));
    const [latest, previous] = walks;
    if (!latest) return { volumeId: v.id, language, walk: null, findings: [], directories: [], comparison: null, history: [] };
    const findings = (await this.store.findings(v.tenantId, latest.walkId)).map((f) => ({ ...f, ...describeFinding(f, language) }));
    const directories = await this.store.directories(v.tenantId, latest.walkId, { maxDepth: 2, limit: 20 });
    let comparison: VolumeInsights['comparison'] = null;
    if (previous) {
      const growth = compareDirectories(await this.store.directories(v.tenantId, latest.walkId), await this.store.directories(v.tenantId, previous.walkId));
      const bytesDelta = latest.bytes - previous.bytes;
      const hours = (latest.walkedAt.getTime() - previous.walkedAt.getTime()) / 3_600_000;
      const top = growth.find((g) => g.bytesDelta > 0n === bytesDelta >= 0n);
      comparison = { previous, bytesDelta, filesDelta: latest.files - previous.files, summary: describeGrowth(language, bytesDelta, hours, top), growth };
    }
    const history = await Promise.all(walks.slice(0, opts.history).map(async (w) => ({ ...w, findings: (await this.store.findings(v.tenantId, w.walkId)).length })));
    return { volumeId: v.id, language, walk: latest, findings, directories, comparison, history };
  }

  /** Every rule with its setting (defaults where no admin changed it). */
  async rules(): Promise<RuleSetting[]> {
    return mergeSettings(await this.store.ruleSettings());
  }

  /** Turns a rule on or off or changes its parameters (admin); audited. */
  async updateRule(actor: Actor, rule: RuleId, patch: { enabled?: boolean; params?: Partial<RuleParams> }): Promise<RuleSetting> {
    const def = RULES.find((r) => r.id === rule)!;
    const unknown = Object.keys(patch.params ?? {}).filter((k) => !(k in def.defaults));
    if (unknown.length) throw errors.validation(`rule "${rule}" has no parameter ${unknown.join(', ')}; it takes ${Object.keys(def.defaults).join(', ')}`);
    return inTransaction(this.db, async (trx) => {
      const store = this.store.in(trx);
      const before = mergeSettings(await store.ruleSettings()).find((s) => s.rule === rule)!;
      const after: RuleSetting = { rule, enabled: patch.enabled ?? before.enabled, params: { ...before.params, ...patch.params } as RuleParams };
      if (JSON.stringify(after) === JSON.stringify(before)) return before; // nothing changes, nothing written
      await store.saveRuleSetting(after, actor.sub);
      await recordAudit(trx, actor, { action: 'insight_rule.updated', entityType: 'insight_rule', entityId: rule, tenantId: null, before, after });
      return after;
    });
  }
}

/** Stored settings over the defaults, one per rule in table order. */
function mergeSettings(stored: readonly RuleSetting[]): RuleSetting[] {
  const by = new Map(stored.map((s) => [s.rule, s]));
  return defaultSettings().map((d) => {
    const s = by.get(d.rule);
    return s ? { rule: d.rule, enabled: s.enabled, params: { ...d.params, ...s.params } } : d;
  });
}
