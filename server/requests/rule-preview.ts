/**
 * What an auto-approval rule would do before it is saved: every pending request of its tier and
 * every request of the last {@link PREVIEW_DAYS} days is judged by the tier's rules as they are
 * and as they would be with the rule added (or replacing the one it edits), by the same pure
 * policy a new request meets (`auto-approval.ts`). Reads only: nothing is saved or audited.
 *
 * Recent requests are judged as of when they were filed: against the limits their target had then
 * (the `previous` a grant recorded, else the target's limits now) and the automatic approvals the
 * target had before them, so a cooldown counts as it did.
 *
 * A request's target is the volume's own quota or one directory quota of it, and each is judged
 * as filing judges it (`RequestService.create`): against that target's limits (a directory's own,
 * never the volume's) and that target's last automatic approval. A request whose volume or
 * directory quota is gone is left out, as it could not be filed today.
 */
import type { Principal } from '../auth/principal.js';
import { errors } from '../lib/errors.js';
import type { TenantService } from '../tenants/tenant-service.js';
import type { VolumeService } from '../volumes/volume-service.js';
import { evaluateRules, type CurrentLimits, type Rule, type Verdict } from './auto-approval.js';
import { fromJson as requestedOf, limitsOf } from './request-limits.js';
import type { JsonLimits, QuotaRequest, RequestStore } from './request-store.js';
import type { DirectoryRequestPort } from './request-targets.js';
import { parseRuleParams, type RuleInput } from './rule-service.js';
import { toPolicyRule, type RuleStore, type StoredRule } from './rule-store.js';

/** How far back requests are replayed. */
export const PREVIEW_DAYS = 30;
/** Requests judged per preview at most (newest first); the answer says when more were left out. */
const MAX_REQUESTS = 2000;
const PAGE = 500;
/** The id a rule not yet saved goes by in explanations. */
const NEW_RULE = 'new';

/** What a previewed request is about: the volume's own quota, or one directory quota of it (its path now). */
export type PreviewTarget = { kind: 'volume' } | { kind: 'directory_quota'; quotaId: string; path: Buffer };

/** One request judged both ways. */
export interface PreviewItem {
  request: QuotaRequest;
  target: PreviewTarget;
  /** Under the tier's rules today. */
  now: Verdict;
  /** With the previewed rule in place. */
  after: Verdict;
  /** The previewed rule is the one that approves it. */
  byThisRule: boolean;
}

/** A preview's answer. */
export interface RulePreviewResult {
  tier: string;
  ruleId: string;
  since: Date;
  until: Date;
  items: PreviewItem[];
  truncated: boolean;
}

/** What previews read through. */
export interface RulePreviewDeps {
  /** The requests replayed, and their targets' automatic approvals. */
  requests: Pick<RequestStore, 'list' | 'lastAutoApproval'>;
  /** The tier's rules as they are. */
  rules: Pick<RuleStore, 'list' | 'find'>;
  tenants: Pick<TenantService, 'list'>;
  volumes: Pick<VolumeService, 'find'>;
  /** Directory requests are judged against their quota's limits, read as approvals read them. */
  dirs: Pick<DirectoryRequestPort, 'findForGrant'>;
}

/** A target's limits now (null: it is gone) and its latest automatic approval, loaded once per preview. */
type Loaded = { target: PreviewTarget; limits: CurrentLimits; lastAuto: Date | null } | null;

/** Rule previews. */
export class RulePreview {
  constructor(private readonly d: RulePreviewDeps) {}

  /** Judges the tier's pending and recent requests with and without the rule; `replaces` names the rule being edited (404 if absent). */
  async preview(principal: Principal, input: RuleInput, replaces?: string, now = new Date()): Promise<RulePreviewResult> {
    const params = parseRuleParams(input);
    const existing = replaces ? await this.d.rules.find(replaces) : undefined;
    if (replaces && !existing) throw errors.ruleNotFound(replaces);
    const id = replaces ?? NEW_RULE;
    const candidate: StoredRule = {
      id,
      tier: input.tier,
      kind: input.kind,
      params,
      position: input.position ?? existing?.position ?? 100,
      enabled: input.enabled ?? existing?.enabled ?? true,
      description: input.description ?? null,
      createdBy: principal.sub,
      createdAt: now,
      updatedAt: now,
    };
    const today = await this.d.rules.list(input.tier);
    // The tier's order as a save would leave it: by position, then id (the store's order).
    const withRule = [...today.filter((r) => r.id !== id), candidate].sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const policy = (rules: StoredRule[]) => rules.filter((r) => r.enabled).map(toPolicyRule);
    const rules = { now: policy(today), after: policy(withRule) };

    const since = new Date(now.getTime() - PREVIEW_DAYS * 86_400_000);
    const { requests, truncated } = await this.requestsOf(principal, input.tier, since);
    const cache = new Map<string, Loaded>();
    const items: PreviewItem[] = [];
    for (const r of requests) {
      const item = await this.judge(r, requests, rules, id, now, cache);
      if (item) items.push(item);
    }
    return { tier: input.tier, ruleId: id, since, until: now, items, truncated };
  }

  /** One request judged by both rule lists, as filing would have judged it; undefined when its target is gone. */
  private async judge(r: QuotaRequest, all: readonly QuotaRequest[], rules: { now: Rule[]; after: Rule[] }, id: string, now: Date, cache: Map<string, Loaded>): Promise<PreviewItem | undefined> {
    const loaded = await this.load(r, cache);
    if (!loaded) return undefined;
    const pending = r.state === 'pending';
    const at = pending ? now : r.createdAt;
    // A grant recorded the limits it replaced; the others are as they are now.
    const limits = !pending && r.previous ? { ...loaded.limits, ...previousOf(r.previous) } : loaded.limits;
    const last = loaded.lastAuto;
    // The target's latest automatic approval if it came before this request, else the latest before it among those loaded.
    const history = { lastAutoApprovedAt: pending || (last !== null && last < r.createdAt) ? last : lastAutoBefore(all, r) };
    const asked = { ...requestedOf(r.requested), until: r.until ?? undefined };
    const after = evaluateRules(rules.after, asked, limits, history, at);
    return { request: r, target: loaded.target, now: evaluateRules(rules.now, asked, limits, history, at), after, byThisRule: after.approve && after.ruleId === id };
  }

  /** Pending requests of the tier's tenants, and all of theirs filed since `since`, newest first. */
  private async requestsOf(principal: Principal, tier: string, since: Date): Promise<{ requests: QuotaRequest[]; truncated: boolean }> {
    const tenantIds: string[] = [];
    for (let afterId: string | undefined; ;) {
      const page = await this.d.tenants.list(principal, { afterId, limit: PAGE });
      tenantIds.push(...page.filter((t) => t.tier === tier).map((t) => t.id));
      if (page.length < PAGE) break;
      afterId = page[page.length - 1]!.id;
    }
    const out = new Map<string, QuotaRequest>();
    if (!tenantIds.length) return { requests: [], truncated: false };
    for (const r of await this.d.requests.list({ tenantIds, state: 'pending', limit: MAX_REQUESTS })) out.set(r.id, r);
    let truncated = false;
    for (let beforeId: string | undefined; ;) {
      const page = await this.d.requests.list({ tenantIds, beforeId, limit: PAGE });
      const recent = page.filter((r) => r.createdAt >= since);
      for (const r of recent) out.set(r.id, r);
      if (out.size >= MAX_REQUESTS) {
        truncated = true;
        break;
      }
      if (page.length < PAGE || recent.length < page.length) break;
      beforeId = page[page.length - 1]!.id;
    }
    return { requests: [...out.values()].sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, MAX_REQUESTS), truncated };
  }

  /**
   * The request's target as filing reads it: the volume's limits, or the directory quota's own
   * (an active one, as approvals find it), and the automatic approvals of that target alone.
   */
  private async load(r: QuotaRequest, cache: Map<string, Loaded>): Promise<Loaded> {
    const key = `${r.volumeId}/${r.directoryQuotaId ?? ''}`;
    if (cache.has(key)) return cache.get(key)!;
    let found: Loaded = null;
    if (r.directoryQuotaId === null) {
      const v = await this.d.volumes.find(r.volumeId);
      if (v) found = { target: { kind: 'volume' }, limits: limitsOf(v.quota), lastAuto: null };
    } else {
      const q = await this.d.dirs.findForGrant(r.tenantId, r.directoryQuotaId);
      if (q) found = { target: { kind: 'directory_quota', quotaId: q.id, path: q.path }, limits: limitsOf(q.quota), lastAuto: null };
    }
    if (found) found.lastAuto = await this.d.requests.lastAutoApproval(r.volumeId, r.directoryQuotaId);
    cache.set(key, found);
    return found;
  }
}

/** The latest automatic approval of the request's target decided before it was filed (among those loaded). */
function lastAutoBefore(all: readonly QuotaRequest[], r: QuotaRequest): Date | null {
  let last: Date | null = null;
  for (const o of all) {
    if (o.volumeId !== r.volumeId || o.directoryQuotaId !== r.directoryQuotaId || o.state !== 'approved' || !o.ruleId || !o.decidedAt || o.decidedAt >= r.createdAt) continue;
    if (!last || o.decidedAt > last) last = o.decidedAt;
  }
  return last;
}

const big = (x: string | null | undefined) => (x === null || x === undefined ? null : BigInt(x));

/** The limits a record names, as the policy reads them (null = unlimited; absent keys are left out). */
function previousOf(l: JsonLimits): Partial<CurrentLimits> {
  return Object.fromEntries(Object.entries(l).map(([k, v]) => [k, big(v)]));
}
