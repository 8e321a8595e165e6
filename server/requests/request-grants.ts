/**
 * The two writes of a request's decision that change a quota: a grant (limits, the request's
 * state, audit, notice) and the revert of a temporary grant at its end, for volume and
 * directory requests alike (the target's own steps are in `request-targets.ts`).
 */
import type { Actor } from '../audit/audit-log.js';
import { checkQuota, type PlatformCeiling } from '../quotas/quota-check.js';
import type { RequestedLimits } from './auto-approval.js';
import { iso, jsonLimits, KEYS, type Key, type Limits, type Usage } from './request-limits.js';
import type { JsonLimits, QuotaRequest, RequestUnitOfWork } from './request-store.js';
import type { RequestTargets, Target } from './request-targets.js';

/** Grants and reverts, inside the caller's transaction (its unit of work: the request store, audit, and the transaction). */
export class RequestGrants {
  constructor(
    private readonly targets: RequestTargets,
    private readonly ceiling: PlatformCeiling,
  ) {}

  /** Puts back what one grant changed (fields changed again since keep the newer value) and tells the tenant. */
  async revert(uow: RequestUnitOfWork, system: Actor, cur: QuotaRequest, t: Target, dirUsage: Usage | null): Promise<JsonLimits> {
    const { trx } = uow;
    const restored: Limits = { ...t.limits };
    const back: JsonLimits = {};
    for (const k of KEYS) {
      if (!cur.granted || !(k in cur.granted) || !cur.previous || !(k in cur.previous)) continue;
      if (String(t.limits[k]) !== String(cur.granted[k])) continue; // changed since: keep the newer value
      restored[k] = cur.previous[k] === null ? null : BigInt(cur.previous[k]!);
      back[k] = cur.previous[k] ?? null;
    }
    const after = await this.targets.change(uow, system, t, restored);
    const usage = t.dir ? dirUsage : await this.targets.storedUsage(trx, after);
    await this.targets.notify(trx, 'quota.grant_reverted', { ...cur, granted: back }, after, usage);
    return back;
  }

  /** Writes the grant: limits, request state, audit, notice. */
  async grant(
    uow: RequestUnitOfWork,
    actor: Actor,
    req: QuotaRequest,
    t: Target,
    numbers: RequestedLimits,
    until: Date | null,
    ruleId: string | null,
    comment: string | null,
    usage: Usage | null,
  ): Promise<QuotaRequest> {
    const next: Limits = { ...t.limits, ...numbers };
    checkQuota(next, this.ceiling);
    const previous: JsonLimits = {};
    for (const k of Object.keys(numbers) as Key[]) previous[k] = t.limits[k] === null ? null : String(t.limits[k]);
    const { store, audit, trx } = uow;
    const after = await this.targets.change(uow, actor, t, next);
    const updated = await store.update(req.id, {
      state: 'approved',
      granted: jsonLimits(numbers),
      previous,
      until,
      ruleId,
      decidedBy: actor.sub,
      decided: true,
      comment,
      ...(ruleId ? {} : { explanation: `approved by ${actor.sub}` }),
    });
    await audit(actor, {
      action: ruleId ? 'quota_request.auto_approved' : 'quota_request.approved',
      entityType: 'quota_request',
      entityId: req.id,
      tenantId: req.tenantId,
      before: { state: 'pending' },
      after: { state: 'approved', granted: updated.granted, until: iso(until), ruleId, comment },
    });
    // A volume's notice shows its latest stored reading, as before; a directory's the usage read for the decision.
    await this.targets.notify(trx, 'quota.request_approved', updated, after, t.dir ? usage : await this.targets.storedUsage(trx, after));
    return updated;
  }
}
