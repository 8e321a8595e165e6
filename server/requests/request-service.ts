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
import type { Actor } from '../audit/audit-log.js';
import { isUniqueViolation } from '../db/database.js';
import { dirQuotaErrors } from '../directory-quotas/directory-quota-errors.js';
import { errors } from '../lib/errors.js';
import type { Outbox } from '../notifications/outbox.js';
import type { PlatformCeiling } from '../quotas/quota-check.js';
import type { TenantReadModel } from '../tenants/tenant-read-model.js';
import type { VolumeMetadata } from '../meta/volume-metadata.js';
import { evaluateRules } from './auto-approval.js';
import { askedLimits, checkAsk, fromJson, iso, jsonLimits, parseUntil, type Key } from './request-limits.js';
import { ONE_PENDING_CONSTRAINTS, type QuotaRequest, type RequestFilter, type RequestStore } from './request-store.js';
import { RequestGrants } from './request-grants.js';
import { RequestTargets, type DirectoryRequestPort, type RequestEnforcementPort, type RequestVolumePort, type Target, type TargetKey, type TargetReads } from './request-targets.js';
import { toPolicyRule, type RuleStore } from './rule-store.js';

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
const pendingError = (k: TargetKey, pendingId: string) => (k.directoryQuotaId === null ? errors.requestPending(k.volumeId, pendingId) : dirQuotaErrors.requestPending(k.directoryQuotaId, pendingId));

/** What the request service is built from (by the composition root). */
export interface RequestServiceDeps {
  /** The quota requests. */
  store: RequestStore;
  /** The tiers' auto-approval rules. */
  rules: Pick<RuleStore, 'list'>;
  /** The pool, for other features' read models outside a transaction. */
  db: Knex;
  log: Logger;
  volumes: RequestVolumePort;
  metadata: Pick<VolumeMetadata, 'readUsage'>;
  enforcement: RequestEnforcementPort;
  outbox: Pick<Outbox, 'enqueue'>;
  directoryQuotas: DirectoryRequestPort;
  /** What a request reads of volumes, usage and enforcement states in its own transaction. */
  reads: TargetReads;
  /** The tier of the tenant, whose rules may grant a request at once. */
  tenants: TenantReadModel;
  ceiling: PlatformCeiling;
  publicUrl: string;
}

/** Quota request use cases. */
export class RequestService {
  private readonly targets: RequestTargets;
  private readonly grants: RequestGrants;
  private readonly db: Knex;
  private readonly store: RequestStore;
  private readonly opts: { ceiling: PlatformCeiling; publicUrl: string };

  constructor(private readonly d: RequestServiceDeps) {
    this.db = d.db;
    this.store = d.store;
    this.opts = { ceiling: d.ceiling, publicUrl: d.publicUrl };
    this.targets = new RequestTargets({
      reads: d.reads,
      db: d.db,
      log: d.log,
      volumes: d.volumes,
      metadata: d.metadata,
      enforcement: d.enforcement,
      dirs: d.directoryQuotas,
      outbox: d.outbox,
      publicUrl: d.publicUrl,
    });
    this.grants = new RequestGrants(this.targets, d.ceiling);
  }

  /** What filing and deciding a request share: the checks a refused ask fails, and the tier's rules. */
  private async prepare(principal: Principal, place: RequestPlace, input: RequestInput) {
    const asked = askedLimits(input);
    const { t, usage } = await this.targets.resolve(principal, place.volumeId, place.directoryQuotaId, asked.hardBytes !== undefined || asked.hardInodes !== undefined);
    if (!Object.keys(asked).length) throw errors.validation('ask for at least one of softBytes, hardBytes, softInodes, hardInodes');
    const until = parseUntil(input.until);
    checkAsk(this.targets.describe(t), t.limits, asked, usage, this.opts.ceiling);
    const tenant = (await this.d.tenants.find(this.db, t.volume.tenantId))!;
    const rules = (await this.d.rules.list(tenant.tier)).filter((r) => r.enabled).map(toPolicyRule);
    return { t, asked, until, usage, rules };
  }

  /**
   * What filing this request would do, without filing it: refused as filing would refuse it, or
   * granted at once by a rule (which one, and why), or left for an admin. Writes nothing.
   */
  async preview(principal: Principal, place: RequestPlace, input: RequestInput): Promise<{ wouldApprove: boolean; ruleId: string | null; explanation: string }> {
    const { t, asked, until, rules } = await this.prepare(principal, place, input);
    const k = keyOf(t);
    const pending = await this.store.pending(k.volumeId, k.directoryQuotaId);
    if (pending) throw pendingError(k, pending.id);
    const last = await this.store.lastAutoApproval(k.volumeId, k.directoryQuotaId);
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
      req = await this.store.transaction(async (uow) => {
        const { store, audit, trx } = uow;
        const locked = await this.targets.lock(trx, k);
        if (!locked) throw dirQuotaErrors.notFound(k.directoryQuotaId!);
        const last = await store.lastAutoApproval(k.volumeId, k.directoryQuotaId);
        const verdict = evaluateRules(rules, { ...asked, until: until ?? undefined }, locked.limits, { lastAutoApprovedAt: last }, now);
        const created = await store.insert({
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
        await audit(actor, {
          action: 'quota_request.created',
          entityType: 'quota_request',
          entityId: created.id,
          tenantId: k.tenantId,
          before: null,
          after: { volumeId: k.volumeId, directoryQuotaId: k.directoryQuotaId, requested: created.requested, until: iso(until), reason: input.reason },
        });
        if (verdict.approve) {
          const system: Actor = { sub: `rule:${verdict.ruleId}`, role: 'system', requestId: actor.requestId };
          return this.grants.grant(uow, system, created, locked, asked, until, verdict.ruleId, null, usage);
        }
        await this.targets.notify(trx, 'admin.request_pending', created, locked, usage);
        return created;
      });
    } catch (err) {
      if (ONE_PENDING_CONSTRAINTS.some((c) => isUniqueViolation(err, c))) {
        const p = await this.store.pending(k.volumeId, k.directoryQuotaId);
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
    const before = await this.store.find(undefined, id);
    if (!before) throw errors.requestNotFound(id);
    const override = askedLimits(input);
    // The admin's numbers replace the asked ones they name; the rest stand as asked.
    const numbers = { ...fromJson(before.requested), ...override };
    const until = input.until === undefined ? before.until : parseUntil(input.until ?? undefined);
    const found = await this.targets.ofRequest(before);
    if (!found) throw dirQuotaErrors.notFound(before.directoryQuotaId!);
    const req = await this.store.transaction(async (uow) => {
      const cur = (await uow.store.find(undefined, id, { forUpdate: true }))!;
      if (cur.state !== 'pending') throw errors.requestNotPending(id, cur.state);
      const locked = await this.targets.lock(uow.trx, cur);
      if (!locked) throw dirQuotaErrors.notFound(cur.directoryQuotaId!);
      checkAsk(this.targets.describe(locked), locked.limits, numbers, found.usage, this.opts.ceiling, { allowLowering: true });
      return this.grants.grant(uow, actor, cur, locked, numbers, until, null, input.comment ?? null, found.usage);
    });
    failpoint('grant.after-commit');
    await this.targets.settle(req);
    return req;
  }

  /** Admin denial; the reason goes to the requester. */
  async deny(actor: Actor, id: string, reason: string): Promise<QuotaRequest> {
    return this.store.transaction(async ({ store, audit, trx }) => {
      const cur = await store.find(undefined, id, { forUpdate: true });
      if (!cur) throw errors.requestNotFound(id);
      if (cur.state !== 'pending') throw errors.requestNotPending(id, cur.state);
      const req = await store.update(id, { state: 'denied', decidedBy: actor.sub, decided: true, comment: reason });
      await audit(actor, {
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
    return this.store.transaction(async ({ store, audit }) => {
      const cur = await store.find(visibleTenants(principal), id, { forUpdate: true });
      if (!cur) throw errors.requestNotFound(id);
      if (principal.role !== 'admin' && cur.requestedBy !== principal.sub) throw errors.forbidden('only the requester or an admin can cancel a request');
      if (cur.state !== 'pending') throw errors.requestNotPending(id, cur.state);
      const req = await store.update(id, { state: 'cancelled', decidedBy: actor.sub, decided: true });
      await audit(actor, {
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
    const r = await this.store.find(visibleTenants(principal), id);
    if (!r) throw errors.requestNotFound(id);
    return r;
  }

  /** Requests the caller may see. */
  list(principal: Principal, f: Omit<RequestFilter, 'tenantIds'>): Promise<QuotaRequest[]> {
    return this.store.list({ ...f, tenantIds: visibleTenants(principal) });
  }

  /** The volume's pending request for its own quota (for the usage and enforcement answers). */
  pendingFor(volumeId: string): Promise<QuotaRequest | undefined> {
    return this.store.pending(volumeId);
  }

  /**
   * Reverts temporary grants whose time is up: each field the grant set goes back to what it was
   * before, unless it was changed again since (then the newer decision stands). The quota is then
   * re-evaluated at once: over its limits again, it is warned or frozen as usual.
   */
  async revertDue(now = new Date()): Promise<number> {
    let n = 0;
    for (const g of await this.store.dueGrants(now)) {
      // A directory's usage is read before the transaction (no metadata call inside one).
      const usage = g.directoryQuotaId === null ? null : ((await this.targets.ofRequest(g))?.usage ?? null);
      const reverted = await this.store.transaction(async (uow) => {
        const { store, audit, trx } = uow;
        const cur = (await store.find(undefined, g.id, { forUpdate: true }))!;
        if (cur.revertedAt) return false;
        const system: Actor = { sub: 'system:grants', role: 'system' };
        const t = await this.targets.lock(trx, cur);
        // A directory quota deleted since: nothing is left to revert.
        const back = t ? await this.grants.revert(uow, system, cur, t, usage) : {};
        await store.update(cur.id, { reverted: true });
        await audit(system, {
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
