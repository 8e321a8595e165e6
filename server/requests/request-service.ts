/**
 * Quota requests: an engineer asks, a rule of the tenant's tier grants it at once or it waits for
 * an admin, who approves (possibly with other numbers) or denies. A grant changes the quota in
 * the same transaction as the request's state, then the quota is re-evaluated at once, so an
 * approval unfreezes now, not at the next scheduled pass. Temporary grants revert by themselves
 * at `until`, and the revert is enforced and notified like any quota change.
 *
 * A request is for a volume's own quota or for one directory quota inside it (its owner asks):
 * one table, one set of states, rules, checks and reverts; only the steps in
 * `request-targets.ts` (lock, change, carry out, notice data) differ between the two.
 */
import type { Knex } from 'knex';
import { failpoint } from '../lib/failpoints.js';
import type { Logger } from 'pino';
import { ulid } from 'ulid';
import { visibleTenants, type Principal } from '../auth/principal.js';
import { recordAudit, type Actor } from '../audit/audit-log.js';
import { inTransaction, isUniqueViolation } from '../db/database.js';
import type { EnforcementService } from '../enforcement/enforcement-service.js';
import { findState, initialState } from '../enforcement/enforcement-store.js';
import { dirQuotaErrors } from '../directory-quotas/directory-quota-errors.js';
import { errors } from '../lib/errors.js';
import type { Outbox } from '../notifications/outbox.js';
import type { PlatformCeiling } from '../quotas/quota-check.js';
import { latestReadings } from '../quotas/usage-store.js';
import { findTenant } from '../tenants/tenant-store.js';
import type { VolumeMetadata } from '../meta/volume-metadata.js';
import type { VolumeService } from '../volumes/volume-service.js';
import { findVolume, updateQuota } from '../volumes/volume-store.js';
import { evaluateRules } from './auto-approval.js';
import { askedLimits, checkAsk, fromJson, iso, jsonLimits, parseUntil, type Key } from './request-limits.js';
import { dueGrants, findRequest, insertRequest, lastAutoApproval, listRequests, pendingRequest, updateRequest, type QuotaRequest, type RequestFilter } from './request-store.js';
import { RequestGrants } from './request-grants.js';
import { RequestTargets, type DirectoryRequestPort, type Target, type TargetKey } from './request-targets.js';
import { listRules, toPolicyRule } from './rule-store.js';

/** What an engineer asks for. */
export interface RequestInput extends Partial<Record<Key, number>> {
  reason: string;
  until?: string;
}

/** An admin's approval: other numbers and another `until` (null = permanent) are optional. */
export interface ApproveInput extends Partial<Record<Key, number>> {
  until?: string | null;
  comment?: string;
}

/** Where a request is filed: a volume, and optionally one directory quota of it. */
export interface RequestPlace {
  volumeId: string;
  directoryQuotaId?: string;
}

const keyOf = (t: Target): TargetKey => ({ tenantId: t.volume.tenantId, volumeId: t.volume.id, directoryQuotaId: t.dir?.id ?? null });
const ONE_PENDING = ['quota_requests_one_pending', 'quota_requests_one_pending_directory'];
const pendingError = (k: TargetKey, pendingId: string) => (k.directoryQuotaId === null ? errors.requestPending(k.volumeId, pendingId) : dirQuotaErrors.requestPending(k.directoryQuotaId, pendingId));

/** Quota request use cases. */
export class RequestService {
  private readonly targets: RequestTargets;
  private readonly grants: RequestGrants;

  constructor(
    private readonly db: Knex,
    private readonly log: Logger,
    volumes: VolumeService,
    metadata: Pick<VolumeMetadata, 'readUsage'>,
    enforcement: EnforcementService,
    outbox: Outbox,
    private readonly opts: { ceiling: PlatformCeiling; publicUrl: string },
    directoryQuotas: DirectoryRequestPort,
  ) {
    const stores = { findVolume, updateQuota, findState, initialState, latestReadings };
    this.targets = new RequestTargets({ stores, db, log, volumes, metadata, enforcement, dirs: directoryQuotas, outbox, publicUrl: opts.publicUrl });
    this.grants = new RequestGrants(this.targets, opts.ceiling);
  }

  /** What filing and deciding a request share: the checks a refused ask fails, and the tier's rules. */
  private async prepare(principal: Principal, place: RequestPlace, input: RequestInput) {
    const asked = askedLimits(input);
    const { t, usage } = await this.targets.resolve(principal, place.volumeId, place.directoryQuotaId, asked.hardBytes !== undefined || asked.hardInodes !== undefined);
    if (!Object.keys(asked).length) throw errors.validation('ask for at least one of softBytes, hardBytes, softInodes, hardInodes');
    const until = parseUntil(input.until);
    checkAsk(this.targets.describe(t), t.limits, asked, usage, this.opts.ceiling);
    const tenant = (await findTenant(this.db, t.volume.tenantId))!;
    const rules = (await listRules(this.db, tenant.tier)).filter((r) => r.enabled).map(toPolicyRule);
    return { t, asked, until, usage, rules };
  }

  /**
   * What filing this request would do, without filing it: refused as filing would refuse it, or
   * granted at once by a rule (which one, and why), or left for an admin. Writes nothing.
   */
  async preview(principal: Principal, place: RequestPlace, input: RequestInput): Promise<{ wouldApprove: boolean; ruleId: string | null; explanation: string }> {
    const { t, asked, until, rules } = await this.prepare(principal, place, input);
    const k = keyOf(t);
    const pending = await pendingRequest(this.db, k.volumeId, k.directoryQuotaId);
    if (pending) throw pendingError(k, pending.id);
    const last = await lastAutoApproval(this.db, k.volumeId, k.directoryQuotaId);
    const verdict = evaluateRules(rules, { ...asked, until: until ?? undefined }, t.limits, { lastAutoApprovedAt: last }, new Date());
    return { wouldApprove: verdict.approve, ruleId: verdict.approve ? verdict.ruleId : null, explanation: verdict.explanation };
  }

  /** Files a request; it is granted at once when a rule of the tenant's tier covers it. */
  async create(actor: Actor, principal: Principal, place: RequestPlace, input: RequestInput): Promise<QuotaRequest> {
    const { t, asked, until, usage, rules } = await this.prepare(principal, place, input);
    const k = keyOf(t);
    const now = new Date();
    let req: QuotaRequest;
    try {
      req = await inTransaction(this.db, async (trx) => {
        const locked = await this.targets.lock(trx, k);
        if (!locked) throw dirQuotaErrors.notFound(k.directoryQuotaId!);
        const last = await lastAutoApproval(trx, k.volumeId, k.directoryQuotaId);
        const verdict = evaluateRules(rules, { ...asked, until: until ?? undefined }, locked.limits, { lastAutoApprovedAt: last }, now);
        const created = await insertRequest(trx, {
          id: `qrq_${ulid().toLowerCase()}`,
          volumeId: k.volumeId,
          directoryQuotaId: k.directoryQuotaId,
          directoryPath: t.dir?.path ?? null,
          tenantId: k.tenantId,
          requestedBy: actor.sub,
          reason: input.reason,
          requested: jsonLimits(asked),
          until,
          explanation: verdict.explanation,
        });
        await recordAudit(trx, actor, {
          action: 'quota_request.created',
          entityType: 'quota_request',
          entityId: created.id,
          tenantId: k.tenantId,
          before: null,
          after: { volumeId: k.volumeId, directoryQuotaId: k.directoryQuotaId, requested: created.requested, until: iso(until), reason: input.reason },
        });
        if (verdict.approve) {
          const system: Actor = { sub: `rule:${verdict.ruleId}`, role: 'system', requestId: actor.requestId };
          return this.grants.grant(trx, system, created, locked, asked, until, verdict.ruleId, null, usage);
        }
        await this.targets.notify(trx, 'admin.request_pending', created, locked, usage);
        return created;
      });
    } catch (err) {
      if (ONE_PENDING.some((c) => isUniqueViolation(err, c))) {
        const p = await pendingRequest(this.db, k.volumeId, k.directoryQuotaId);
        throw pendingError(k, p?.id ?? 'unknown');
      }
      throw err;
    }
    if (req.state === 'approved') {
      failpoint('grant.after-commit');
      await this.targets.settle(k);
    }
    return req;
  }

  /** Admin approval, with the asked numbers or others; the quota changes in the same transaction. */
  async approve(actor: Actor, id: string, input: ApproveInput): Promise<QuotaRequest> {
    const before = await findRequest(this.db, undefined, id);
    if (!before) throw errors.requestNotFound(id);
    const override = askedLimits(input);
    // The admin's numbers replace the asked ones they name; the rest stand as asked.
    const numbers = { ...fromJson(before.requested), ...override };
    const until = input.until === undefined ? before.until : parseUntil(input.until ?? undefined);
    const found = await this.targets.ofRequest(before);
    if (!found) throw dirQuotaErrors.notFound(before.directoryQuotaId!);
    const req = await inTransaction(this.db, async (trx) => {
      const cur = (await findRequest(trx, undefined, id, { forUpdate: true }))!;
      if (cur.state !== 'pending') throw errors.requestNotPending(id, cur.state);
      const locked = await this.targets.lock(trx, cur);
      if (!locked) throw dirQuotaErrors.notFound(cur.directoryQuotaId!);
      checkAsk(this.targets.describe(locked), locked.limits, numbers, found.usage, this.opts.ceiling, { allowLowering: true });
      return this.grants.grant(trx, actor, cur, locked, numbers, until, null, input.comment ?? null, found.usage);
    });
    failpoint('grant.after-commit');
    await this.targets.settle(req);
    return req;
  }

  /** Admin denial; the reason goes to the requester. */
  async deny(actor: Actor, id: string, reason: string): Promise<QuotaRequest> {
    return inTransaction(this.db, async (trx) => {
      const cur = await findRequest(trx, undefined, id, { forUpdate: true });
      if (!cur) throw errors.requestNotFound(id);
      if (cur.state !== 'pending') throw errors.requestNotPending(id, cur.state);
      const req = await updateRequest(trx, id, { state: 'denied', decidedBy: actor.sub, decided: true, comment: reason });
      await recordAudit(trx, actor, {
        action: 'quota_request.denied',
        entityType: 'quota_request',
        entityId: id,
        tenantId: req.tenantId,
        before: { state: 'pending' },
        after: { state: 'denied', reason },
      });
      // A directory quota deleted meanwhile: the denial stands, with nobody's limits to show.
      const t = await this.targets.lock(trx, req, { forUpdate: false });
      if (t) await this.targets.notify(trx, 'quota.request_denied', req, t, await this.targets.storedUsage(trx, t));
      return req;
    });
  }

  /** Withdrawal by the requester (or an admin). */
  async cancel(actor: Actor, principal: Principal, id: string): Promise<QuotaRequest> {
    return inTransaction(this.db, async (trx) => {
      const cur = await findRequest(trx, visibleTenants(principal), id, { forUpdate: true });
      if (!cur) throw errors.requestNotFound(id);
      if (principal.role !== 'admin' && cur.requestedBy !== principal.sub) throw errors.forbidden('only the requester or an admin can cancel a request');
      if (cur.state !== 'pending') throw errors.requestNotPending(id, cur.state);
      const req = await updateRequest(trx, id, { state: 'cancelled', decidedBy: actor.sub, decided: true });
      await recordAudit(trx, actor, {
        action: 'quota_request.cancelled',
        entityType: 'quota_request',
        entityId: id,
        tenantId: req.tenantId,
        before: { state: 'pending' },
        after: { state: 'cancelled' },
      });
      return req;
    });
  }

  /** One request the caller may see. */
  async get(principal: Principal, id: string): Promise<QuotaRequest> {
    const r = await findRequest(this.db, visibleTenants(principal), id);
    if (!r) throw errors.requestNotFound(id);
    return r;
  }

  /** Requests the caller may see. */
  list(principal: Principal, f: Omit<RequestFilter, 'tenantIds'>): Promise<QuotaRequest[]> {
    return listRequests(this.db, { ...f, tenantIds: visibleTenants(principal) });
  }

  /** The volume's pending request for its own quota (for the usage and enforcement answers). */
  pendingFor(volumeId: string): Promise<QuotaRequest | undefined> {
    return pendingRequest(this.db, volumeId);
  }

  /**
   * Reverts temporary grants whose time is up: each field the grant set goes back to what it was
   * before, unless it was changed again since (then the newer decision stands). The quota is then
   * re-evaluated at once: over its limits again, it is warned or frozen as usual.
   */
  async revertDue(now = new Date()): Promise<number> {
    let n = 0;
    for (const g of await dueGrants(this.db, now)) {
      // A directory's usage is read before the transaction (no metadata call inside one).
      const usage = g.directoryQuotaId === null ? null : ((await this.targets.ofRequest(g))?.usage ?? null);
      const reverted = await inTransaction(this.db, async (trx) => {
        const cur = (await findRequest(trx, undefined, g.id, { forUpdate: true }))!;
        if (cur.revertedAt) return false;
        const system: Actor = { sub: 'system:grants', role: 'system' };
        const t = await this.targets.lock(trx, cur);
        // A directory quota deleted since: nothing is left to revert.
        const back = t ? await this.grants.revert(trx, system, cur, t, usage) : {};
        await updateRequest(trx, cur.id, { reverted: true });
        await recordAudit(trx, system, {
          action: 'quota_request.grant_reverted',
          entityType: 'quota_request',
          entityId: cur.id,
          tenantId: cur.tenantId,
          before: { granted: cur.granted },
          after: { restored: back },
        });
        return !!t;
      });
      if (reverted) {
        n++;
        failpoint('revert.after-commit');
        await this.targets.settle(g);
      }
    }
    return n;
  }
}
