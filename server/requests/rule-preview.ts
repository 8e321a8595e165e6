/**
 * What an auto-approval rule would do before it is saved: every pending request of its tier and
 * every request of the last {@link PREVIEW_DAYS} days is judged by the tier's rules as they are
 * and as they would be with the rule added (or replacing the one it edits), by the same pure
 * policy a new request meets (`auto-approval.ts`). Reads only: nothing is saved or audited.
 *
 * Recent requests are judged as of when they were filed: against the limits the volume had then
 * (the `previous` a grant recorded, else the volume's limits now) and the automatic approvals the
 * volume had before them, so a cooldown counts as it did.
 */
import type { Knex } from 'knex';
import type { Principal } from '../auth/principal.js';
import { errors } from '../lib/errors.js';
import type { TenantService } from '../tenants/tenant-service.js';
import type { VolumeService } from '../volumes/volume-service.js';
import { evaluateRules, type CurrentLimits, type RequestedLimits, type Verdict } from './auto-approval.js';
import { lastAutoApproval, listRequests, type JsonLimits, type QuotaRequest } from './request-store.js';
import { parseRuleParams, type RuleInput } from './rule-service.js';
import { findRule, listRules, toPolicyRule, type StoredRule } from './rule-store.js';

/** How far back requests are replayed. */
export const PREVIEW_DAYS = 30;
/** Requests judged per preview at most (newest first); the answer says when more were left out. */
const MAX_REQUESTS = 2000;
const PAGE = 500;
/** The id a rule not yet saved goes by in explanations. */
const NEW_RULE = 'new';

/** One request judged both ways. */
export interface PreviewItem {
  request: QuotaRequest;
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
  db: Knex;
  tenants: Pick<TenantService, 'list'>;
  volumes: Pick<VolumeService, 'find'>;
}

/** Rule previews. */
export class RulePreview {
  constructor(private readonly d: RulePreviewDeps) {}

  /** Judges the tier's pending and recent requests with and without the rule; `replaces` names the rule being edited (404 if absent). */
  async preview(principal: Principal, input: RuleInput, replaces?: string, now = new Date()): Promise<RulePreviewResult> {
    const params = parseRuleParams(input);
    const existing = replaces ? await findRule(this.d.db, replaces) : undefined;
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
    const today = await listRules(this.d.db, input.tier);
    // The tier's order as a save would leave it: by position, then id (listRules' order).
    const withRule = [...today.filter((r) => r.id !== id), candidate].sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const policy = (rules: StoredRule[]) => rules.filter((r) => r.enabled).map(toPolicyRule);
    const [rulesNow, rulesAfter] = [policy(today), policy(withRule)];

    const since = new Date(now.getTime() - PREVIEW_DAYS * 86_400_000);
    const { requests, truncated } = await this.requestsOf(principal, input.tier, since);
    const quotas = new Map<string, CurrentLimits | null>();
    const lastAuto = new Map<string, Date | null>();
    const items: PreviewItem[] = [];
    for (const r of requests) {
      // Directory requests are judged against their directory's limits, which this preview does not load yet.
      if (r.directoryQuotaId !== null) continue;
      const pending = r.state === 'pending';
      const at = pending ? now : r.createdAt;
      const current = await this.quotaOf(r.volumeId, quotas);
      if (!current) continue; // the volume is gone
      // A grant recorded the limits it replaced; the others are as they are now.
      const limits = !pending && r.previous ? { ...current, ...fromJson(r.previous) } : current;
      const last = await this.lastAuto(r.volumeId, lastAuto);
      // The volume's latest automatic approval if it came before this request, else the latest before it among those loaded.
      const history = { lastAutoApprovedAt: pending || (last !== null && last < r.createdAt) ? last : lastAutoBefore(requests, r) };
      const asked = { ...asLimits(r.requested), until: r.until ?? undefined };
      const after = evaluateRules(rulesAfter, asked, limits, history, at);
      items.push({ request: r, now: evaluateRules(rulesNow, asked, limits, history, at), after, byThisRule: after.approve && after.ruleId === id });
    }
    return { tier: input.tier, ruleId: id, since, until: now, items, truncated };
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
    for (const r of await listRequests(this.d.db, { tenantIds, state: 'pending', limit: MAX_REQUESTS })) out.set(r.id, r);
    let truncated = false;
    for (let beforeId: string | undefined; ;) {
      const page = await listRequests(this.d.db, { tenantIds, beforeId, limit: PAGE });
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

  private async lastAuto(volumeId: string, cache: Map<string, Date | null>): Promise<Date | null> {
    if (!cache.has(volumeId)) cache.set(volumeId, await lastAutoApproval(this.d.db, volumeId));
    return cache.get(volumeId)!;
  }

  private async quotaOf(volumeId: string, cache: Map<string, CurrentLimits | null>): Promise<CurrentLimits | null> {
    if (!cache.has(volumeId)) {
      const v = await this.d.volumes.find(volumeId);
      cache.set(volumeId, v ? { softBytes: v.quota.softBytes, hardBytes: v.quota.hardBytes, softInodes: v.quota.softInodes, hardInodes: v.quota.hardInodes } : null);
    }
    return cache.get(volumeId)!;
  }
}

/** The latest automatic approval of the request's volume decided before it was filed (among those loaded). */
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
function fromJson(l: JsonLimits): Partial<CurrentLimits> {
  return Object.fromEntries(Object.entries(l).map(([k, v]) => [k, big(v)]));
}

/** What a request asked for (only the limits it names). */
function asLimits(l: JsonLimits): RequestedLimits {
  const out: RequestedLimits = {};
  for (const k of ['softBytes', 'hardBytes', 'softInodes', 'hardInodes'] as const) if (l[k] !== undefined && l[k] !== null) out[k] = BigInt(l[k]);
  return out;
}
