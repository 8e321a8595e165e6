/**
 * Quota requests: an engineer asks, a rule of the tenant's tier grants it at once or it waits for
 * an admin, who approves (possibly with other numbers) or denies. A grant changes the volume's
 * quota in the same transaction as the request's state, then the volume is re-evaluated at once,
 * so an approval unfreezes now, not at the next scheduled pass. Temporary grants revert by
 * themselves at `until`, and the revert is enforced and notified like any quota change.
 */
import type { Knex } from 'knex';
import { failpoint } from '../lib/failpoints.js';
import type { Logger } from 'pino';
import { ulid } from 'ulid';
import { visibleTenants, type Principal } from '../auth/principal.js';
import { recordAudit, type Actor } from '../audit/audit-log.js';
import { inTransaction, isUniqueViolation, type Db } from '../db/database.js';
import type { EnforcementService } from '../enforcement/enforcement-service.js';
import { findState, initialState } from '../enforcement/enforcement-store.js';
import { errors } from '../lib/errors.js';
import { humanBytes, humanCount } from '../notifications/humanize.js';
import type { NoticeType } from '../notifications/notice.js';
import type { Outbox } from '../notifications/outbox.js';
import { checkQuota, type PlatformCeiling } from '../quotas/quota-check.js';
import { latestReadings } from '../quotas/usage-store.js';
import { findTenant } from '../tenants/tenant-store.js';
import type { Quota, Volume } from '../volumes/volume.js';
import type { VolumeMetadata } from '../meta/volume-metadata.js';
import type { VolumeService } from '../volumes/volume-service.js';
import { findVolume, updateQuota } from '../volumes/volume-store.js';
import { evaluateRules, type RequestedLimits } from './auto-approval.js';
import { dueGrants, findRequest, insertRequest, lastAutoApproval, listRequests, pendingRequest, updateRequest, type JsonLimits, type QuotaRequest, type RequestFilter } from './request-store.js';
import { listRules, toPolicyRule } from './rule-store.js';

const KEYS = ['softBytes', 'hardBytes', 'softInodes', 'hardInodes'] as const;
type Key = (typeof KEYS)[number];
type Limits = Omit<Quota, 'graceSeconds'>;

/** The longest temporary grant anyone can ask for. */
const MAX_GRANT_DAYS = 365;

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

/** Quota request use cases. */
export class RequestService {
  constructor(
    private readonly db: Knex,
    private readonly log: Logger,
    private readonly volumes: VolumeService,
    private readonly metadata: Pick<VolumeMetadata, 'readUsage'>,
    private readonly enforcement: EnforcementService,
    private readonly outbox: Outbox,
    private readonly opts: { ceiling: PlatformCeiling; publicUrl: string },
  ) {}

  /** What filing and deciding a request share: the checks a refused ask fails, and the tier's rules. */
  private async prepare(principal: Principal, volumeId: string, input: RequestInput) {
    const v = await this.volumes.get(principal, volumeId);
    if (v.state !== 'active') throw errors.volumeNotActive(volumeId, v.state);
    const asked = askedLimits(input);
    if (!Object.keys(asked).length) throw errors.validation('ask for at least one of softBytes, hardBytes, softInodes, hardInodes');
    const until = parseUntil(input.until);
    const usage = await this.usageOf(v);
    this.checkAsk(v.quota, asked, usage);
    const tenant = (await findTenant(this.db, v.tenantId))!;
    const rules = (await listRules(this.db, tenant.tier)).filter((r) => r.enabled).map(toPolicyRule);
    return { v, asked, until, usage, rules };
  }

  /**
   * What filing this request would do, without filing it: refused as filing would refuse it, or
   * granted at once by a rule (which one, and why), or left for an admin. Writes nothing.
   */
  async preview(principal: Principal, volumeId: string, input: RequestInput): Promise<{ wouldApprove: boolean; ruleId: string | null; explanation: string }> {
    const { v, asked, until, rules } = await this.prepare(principal, volumeId, input);
    const pending = await pendingRequest(this.db, v.id);
    if (pending) throw errors.requestPending(v.id, pending.id);
    const verdict = evaluateRules(rules, { ...asked, until: until ?? undefined }, v.quota, { lastAutoApprovedAt: await lastAutoApproval(this.db, v.id) }, new Date());
    return { wouldApprove: verdict.approve, ruleId: verdict.approve ? verdict.ruleId : null, explanation: verdict.explanation };
  }

  /** Files a request; it is granted at once when a rule of the tenant's tier covers it. */
  async create(actor: Actor, principal: Principal, volumeId: string, input: RequestInput): Promise<QuotaRequest> {
    const { v, asked, until, usage, rules } = await this.prepare(principal, volumeId, input);
    const now = new Date();
    let req: QuotaRequest;
    try {
      req = await inTransaction(this.db, async (trx) => {
        const locked = (await findVolume(trx, v.id, { forUpdate: true }))!;
        const verdict = evaluateRules(rules, { ...asked, until: until ?? undefined }, locked.quota, { lastAutoApprovedAt: await lastAutoApproval(trx, v.id) }, now);
        const created = await insertRequest(trx, {
          id: `qrq_${ulid().toLowerCase()}`,
          volumeId: v.id,
          tenantId: v.tenantId,
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
          tenantId: v.tenantId,
          before: null,
          after: { volumeId: v.id, requested: created.requested, until: iso(until), reason: input.reason },
        });
        if (verdict.approve) {
          const system: Actor = { sub: `rule:${verdict.ruleId}`, role: 'system', requestId: actor.requestId };
          return this.grant(trx, system, created, locked, asked, until, verdict.ruleId, null);
        }
        await this.notify(trx, 'admin.request_pending', created, locked, usage);
        return created;
      });
    } catch (err) {
      if (isUniqueViolation(err, 'quota_requests_one_pending')) {
        const p = await pendingRequest(this.db, v.id);
        throw errors.requestPending(v.id, p?.id ?? 'unknown');
      }
      throw err;
    }
    if (req.state === 'approved') {
      failpoint('grant.after-commit');
      await this.settle(v.id);
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
    const v = (await findVolume(this.db, before.volumeId))!;
    const usage = await this.usageOf(v);
    const req = await inTransaction(this.db, async (trx) => {
      const cur = (await findRequest(trx, undefined, id, { forUpdate: true }))!;
      if (cur.state !== 'pending') throw errors.requestNotPending(id, cur.state);
      const locked = (await findVolume(trx, cur.volumeId, { forUpdate: true }))!;
      this.checkAsk(locked.quota, numbers, usage, { allowLowering: true });
      return this.grant(trx, actor, cur, locked, numbers, until, null, input.comment ?? null);
    });
    failpoint('grant.after-commit');
    await this.settle(req.volumeId);
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
      const v = (await findVolume(trx, req.volumeId))!;
      await this.notify(trx, 'quota.request_denied', req, v, await this.storedUsage(trx, v.id));
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

  /** The volume's pending request (for the usage and enforcement answers). */
  pendingFor(volumeId: string): Promise<QuotaRequest | undefined> {
    return pendingRequest(this.db, volumeId);
  }

  /**
   * Reverts temporary grants whose time is up: each field the grant set goes back to what it was
   * before, unless it was changed again since (then the newer decision stands). The volume is
   * then re-evaluated at once: over its limits again, it is warned or frozen as usual.
   */
  async revertDue(now = new Date()): Promise<number> {
    let n = 0;
    for (const g of await dueGrants(this.db, now)) {
      const reverted = await inTransaction(this.db, async (trx) => {
        const cur = (await findRequest(trx, undefined, g.id, { forUpdate: true }))!;
        if (cur.revertedAt) return false;
        const v = (await findVolume(trx, cur.volumeId, { forUpdate: true }))!;
        const restored: Limits = { ...limitsOf(v.quota) };
        const back: JsonLimits = {};
        for (const k of KEYS) {
          if (!cur.granted || !(k in cur.granted) || !cur.previous || !(k in cur.previous)) continue;
          if (String(v.quota[k]) !== String(cur.granted[k])) continue; // changed since: keep the newer value
          restored[k] = cur.previous[k] === null ? null : BigInt(cur.previous[k]!);
          back[k] = cur.previous[k] ?? null;
        }
        const system: Actor = { sub: 'system:grants', role: 'system' };
        const after = await this.changeQuota(trx, system, v, restored);
        await updateRequest(trx, cur.id, { reverted: true });
        await recordAudit(trx, system, {
          action: 'quota_request.grant_reverted',
          entityType: 'quota_request',
          entityId: cur.id,
          tenantId: v.tenantId,
          before: { granted: cur.granted },
          after: { restored: back },
        });
        await this.notify(trx, 'quota.grant_reverted', { ...cur, granted: back }, after, await this.storedUsage(trx, v.id));
        return true;
      });
      if (reverted) {
        n++;
        failpoint('revert.after-commit');
        await this.settle(g.volumeId);
      }
    }
    return n;
  }

  /**
   * Changes a volume's quota (a grant or its revert): the new limits, the enforcement decision on
   * them (so what JuiceFS and SeaweedFS must now hold commits with them) and the audit row.
   */
  private async changeQuota(trx: Db, actor: Actor, v: Volume, next: Limits): Promise<Volume> {
    const after = await updateQuota(trx, v.id, next);
    await this.enforcement.decideWithin(trx, v.id);
    await recordAudit(trx, actor, {
      action: 'volume.quota_changed',
      entityType: 'volume',
      entityId: v.id,
      tenantId: v.tenantId,
      before: jsonLimits(limitsOf(v.quota)),
      after: jsonLimits(limitsOf(after.quota)),
    });
    return after;
  }

  /** Writes the grant: quota, request state, audit, notice. */
  private async grant(trx: Db, actor: Actor, req: QuotaRequest, v: Volume, numbers: RequestedLimits, until: Date | null, ruleId: string | null, comment: string | null): Promise<QuotaRequest> {
    const next: Limits = { ...limitsOf(v.quota), ...numbers };
    checkQuota(next, this.opts.ceiling);
    const previous: JsonLimits = {};
    for (const k of Object.keys(numbers) as Key[]) previous[k] = v.quota[k] === null ? null : String(v.quota[k]);
    const after = await this.changeQuota(trx, actor, v, next);
    const updated = await updateRequest(trx, req.id, {
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
    await recordAudit(trx, actor, {
      action: ruleId ? 'quota_request.auto_approved' : 'quota_request.approved',
      entityType: 'quota_request',
      entityId: req.id,
      tenantId: v.tenantId,
      before: { state: 'pending' },
      after: { state: 'approved', granted: updated.granted, until: iso(until), ruleId, comment },
    });
    await this.notify(trx, 'quota.request_approved', updated, after, await this.storedUsage(trx, v.id));
    return updated;
  }

  /** Carries out and re-checks a volume whose quota just changed; failures wait for the next pass. */
  private async settle(volumeId: string): Promise<void> {
    await this.enforcement.afterQuotaChange(volumeId).catch((err: unknown) => this.log.error({ err, volumeId }, 'immediate re-evaluation failed; the next pass will decide'));
  }

  /** Refuses asks that lower a limit, exceed the ceiling, or would leave the volume over its hard limit. */
  private checkAsk(current: Quota, asked: RequestedLimits, usage: { bytes: bigint; inodes: bigint } | null, opts: { allowLowering?: boolean } = {}): void {
    if (!opts.allowLowering) {
      for (const k of Object.keys(asked) as Key[]) {
        const have = current[k];
        if (have === null) throw errors.notAnIncrease(`${k} is unlimited today; a request can only raise limits (ask an admin to set one)`);
        if (asked[k]! < have) throw errors.notAnIncrease(`${k} ${asked[k]} is below the current ${have}; a request can only raise limits (ask an admin to lower them)`);
      }
      // Asking for exactly what the volume has would sit in an admin's queue for nothing.
      const keys = Object.keys(asked) as Key[];
      if (keys.length > 0 && keys.every((k) => asked[k] === current[k]))
        throw errors.notAnIncrease(`the volume already has ${keys.map((k) => `${k} ${current[k]}`).join(' and ')}; ask for more than that`);
    }
    const merged: Limits = { ...limitsOf(current), ...asked };
    checkQuota(merged, this.opts.ceiling);
    if (!usage) return;
    if (merged.hardBytes !== null && merged.hardBytes <= usage.bytes) {
      throw errors.requestBelowUsage(
        `the volume already uses ${humanBytes(usage.bytes)} (${usage.bytes} bytes): a hard limit of ${humanBytes(merged.hardBytes)} would leave it frozen; ask for more than ${usage.bytes} bytes`,
      );
    }
    if (merged.hardInodes !== null && merged.hardInodes <= usage.inodes) {
      throw errors.requestBelowUsage(
        `the volume already holds ${humanCount(usage.inodes)} files (${usage.inodes}): a limit of ${merged.hardInodes} would leave it frozen; ask for more than ${usage.inodes}`,
      );
    }
  }

  /** Usage now, or the latest stored reading when the engine cannot be read. */
  private async usageOf(v: Volume): Promise<{ bytes: bigint; inodes: bigint } | null> {
    try {
      const u = await this.metadata.readUsage(v);
      return { bytes: u.usedBytes, inodes: u.usedInodes };
    } catch {
      return this.storedUsage(this.db, v.id);
    }
  }

  private async storedUsage(db: Db, volumeId: string): Promise<{ bytes: bigint; inodes: bigint } | null> {
    const r = (await latestReadings(db, [volumeId])).get(volumeId);
    return r?.bytes != null ? { bytes: r.bytes, inodes: r.inodes ?? 0n } : null;
  }

  private async notify(trx: Db, type: NoticeType, req: QuotaRequest, v: Volume, usage: { bytes: bigint; inodes: bigint } | null): Promise<void> {
    const state = (await findState(trx, v.id)) ?? initialState(v.id, v.tenantId, new Date());
    const reading = usage ? { ok: true as const, bytes: usage.bytes, inodes: usage.inodes, readAt: new Date() } : { ok: false as const, error: 'no reading' };
    const data = await this.enforcement.notices.noticeData(trx, v, state, reading, null);
    data.reason = type === 'quota.request_approved' ? 'quota_changed' : data.reason;
    data.request = {
      id: req.id,
      requestedBy: req.requestedBy,
      reason: req.reason,
      requested: req.requested,
      granted: req.granted,
      until: iso(req.until),
      comment: req.comment,
      explanation: req.explanation,
      link: `${this.opts.publicUrl}/v1/quota-requests/${req.id}`,
    };
    const audience = type.startsWith('admin.') ? 'admins' : 'tenant';
    await this.outbox.enqueue(trx, { eventKey: `${req.id}:${type}`, type, audience, tenantId: v.tenantId, volumeId: v.id, data });
  }
}

function askedLimits(input: Partial<Record<Key, number>>): RequestedLimits {
  const out: RequestedLimits = {};
  for (const k of KEYS) if (input[k] !== undefined) out[k] = BigInt(input[k]!);
  return out;
}

function parseUntil(until: string | undefined): Date | null {
  if (until === undefined) return null;
  const d = new Date(until);
  const now = Date.now();
  if (!(d.getTime() > now)) throw errors.validation('`until` must be in the future', [{ path: '/body/until', message: 'must be in the future' }]);
  if (d.getTime() > now + MAX_GRANT_DAYS * 86_400_000)
    throw errors.validation(`a temporary grant lasts at most ${MAX_GRANT_DAYS} days`, [{ path: '/body/until', message: `at most ${MAX_GRANT_DAYS} days ahead` }]);
  return d;
}

function limitsOf(q: Quota): Limits {
  return { softBytes: q.softBytes, hardBytes: q.hardBytes, softInodes: q.softInodes, hardInodes: q.hardInodes };
}

function jsonLimits(l: Partial<Limits>): JsonLimits {
  return Object.fromEntries(Object.entries(l).map(([k, v]) => [k, v === null || v === undefined ? null : String(v)]));
}

function fromJson(l: JsonLimits): RequestedLimits {
  const out: RequestedLimits = {};
  for (const k of KEYS) if (l[k] !== undefined && l[k] !== null) out[k] = BigInt(l[k]!);
  return out;
}

const iso = (d: Date | null) => d?.toISOString() ?? null;
