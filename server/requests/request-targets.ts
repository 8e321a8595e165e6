/**
 * What a quota request is about: a volume's own quota, or one directory quota inside it, and the
 * few steps that differ between the two. Locking the target, changing its limits (with the
 * enforcement decision and the audit row, in the request's transaction), carrying the change out
 * after commit, and the notice data. Everything else (the rules, the checks, the states, the admin
 * queue, the revert of temporary grants) is the same code in {@link RequestService}.
 *
 * A directory's limits change only through the directory-quota feature's service (never its
 * table), in the request's transaction; the JuiceFS record is written after commit by that
 * feature's applier, as its own edits are.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Actor } from '../audit/audit-log.js';
import type { Principal } from '../auth/principal.js';
import type { Db } from '../db/database.js';
import type { DirectoryQuota } from '../directory-quotas/directory-quota.js';
import type { DirectoryQuotaService } from '../directory-quotas/directory-quota-service.js';
import type { EnforcementService } from '../enforcement/enforcement-service.js';
import type { EnforcementStates } from '../enforcement/enforcement-states.js';
import { errors } from '../lib/errors.js';
import type { VolumeMetadata } from '../meta/volume-metadata.js';
import type { NoticeType } from '../notifications/notice.js';
import type { Outbox } from '../notifications/outbox.js';
import type { UsageReadModel } from '../quotas/usage-read-model.js';
import type { Volume } from '../volumes/volume.js';
import type { VolumeReadModel } from '../volumes/volume-read-model.js';
import type { VolumeService } from '../volumes/volume-service.js';
import { iso, jsonLimits, limitsOf, type Limits, type Usage } from './request-limits.js';
import type { QuotaRequest, RequestUnitOfWork } from './request-store.js';

/** A request's target: the volume, and the directory quota when it is one (null: the volume's own quota). */
export interface Target {
  volume: Volume;
  dir: DirectoryQuota | null;
  limits: Limits;
}

/** How a stored request names its target. */
export type TargetKey = Pick<QuotaRequest, 'tenantId' | 'volumeId' | 'directoryQuotaId'>;

/** What requests need of the directory-quota feature. */
export type DirectoryRequestPort = Pick<DirectoryQuotaService, 'requestable' | 'usageOf' | 'findForGrant' | 'lockForGrant' | 'setLimitsAsGrant' | 'afterGrant'>;

/** What a target reads of other features inside the request's transaction (named read models). */
export interface TargetReads {
  volumes: VolumeReadModel;
  usage: Pick<UsageReadModel, 'latest'>;
  states: Pick<EnforcementStates, 'current'>;
}

/** What requests need of the volume service: the caller's volume, and a grant's change of its limits. */
export type RequestVolumePort = Pick<VolumeService, 'get' | 'setQuotaIn'>;

/** What requests need of enforcement: the decision on a changed quota, carried out after commit, and notice data. */
export type RequestEnforcementPort = Pick<EnforcementService, 'decideWithin' | 'afterQuotaChange'> & { notices: Pick<EnforcementService['notices'], 'noticeData'> };

/** What {@link RequestTargets} needs. */
export interface RequestTargetDeps {
  reads: TargetReads;
  db: Knex;
  log: Logger;
  volumes: RequestVolumePort;
  metadata: Pick<VolumeMetadata, 'readUsage'>;
  enforcement: RequestEnforcementPort;
  dirs: DirectoryRequestPort;
  outbox: Pick<Outbox, 'enqueue'>;
  publicUrl: string;
}

const ofVolume = (v: Volume): Target => ({ volume: v, dir: null, limits: limitsOf(v.quota) });
const ofDir = (v: Volume, q: DirectoryQuota): Target => ({ volume: v, dir: q, limits: limitsOf(q.quota) });

/** The steps of a request that depend on its target. */
export class RequestTargets {
  constructor(private readonly d: RequestTargetDeps) {}

  /** The target a caller files for (engineers: a volume of their tenants, a directory quota they own) and its usage now. */
  async resolve(principal: Principal, volumeId: string, quotaId: string | undefined, asksHard: boolean): Promise<{ t: Target; usage: Usage | null }> {
    if (quotaId !== undefined) {
      const r = await this.d.dirs.requestable(principal, volumeId, quotaId, asksHard);
      return { t: ofDir(r.volume, r.quota), usage: r.usage };
    }
    const v = await this.d.volumes.get(principal, volumeId);
    if (v.state !== 'active') throw errors.volumeNotActive(volumeId, v.state);
    return { t: ofVolume(v), usage: await this.usageOf(v) };
  }

  /** The target of a stored request and its usage now (approvals and reverts); undefined once a directory quota is gone. */
  async ofRequest(key: TargetKey): Promise<{ t: Target; usage: Usage | null } | undefined> {
    const v = (await this.d.reads.volumes.find(this.d.db, key.volumeId))!;
    if (key.directoryQuotaId === null) return { t: ofVolume(v), usage: await this.usageOf(v) };
    const q = await this.d.dirs.findForGrant(key.tenantId, key.directoryQuotaId);
    return q && { t: ofDir(v, q), usage: await this.d.dirs.usageOf(v, q) };
  }

  /** The target locked in `trx` (the volume row, or the directory quota's; `forUpdate: false` only reads it); undefined once a directory quota is gone. */
  async lock(trx: Db, key: TargetKey, opts: { forUpdate: boolean } = { forUpdate: true }): Promise<Target | undefined> {
    if (key.directoryQuotaId === null) return ofVolume((await this.d.reads.volumes.find(trx, key.volumeId, opts))!);
    const v = (await this.d.reads.volumes.find(trx, key.volumeId))!;
    const q = opts.forUpdate ? await this.d.dirs.lockForGrant(trx, key.tenantId, key.directoryQuotaId) : await this.d.dirs.findForGrant(key.tenantId, key.directoryQuotaId);
    return q && ofDir(v, q);
  }

  /**
   * Changes the target's limits (a grant or its revert) in the request's transaction: a volume's
   * quota with the enforcement decision on it and the audit row; a directory's through its own service.
   */
  async change({ trx, audit }: Pick<RequestUnitOfWork, 'trx' | 'audit'>, actor: Actor, t: Target, next: Limits): Promise<Target> {
    if (t.dir) return ofDir(t.volume, await this.d.dirs.setLimitsAsGrant(trx, actor, t.dir, next));
    const after = await this.d.volumes.setQuotaIn(trx, t.volume.id, next);
    await this.d.enforcement.decideWithin(trx, t.volume.id);
    await audit(actor, {
      action: 'volume.quota_changed',
      entityType: 'volume',
      entityId: t.volume.id,
      tenantId: t.volume.tenantId,
      before: jsonLimits(t.limits),
      after: jsonLimits(limitsOf(after.quota)),
    });
    return ofVolume(after);
  }

  /** After commit: carries out and re-checks the changed target; failures wait for the next pass. */
  async settle(key: TargetKey): Promise<void> {
    const work = key.directoryQuotaId === null ? this.d.enforcement.afterQuotaChange(key.volumeId) : this.d.dirs.afterGrant(key.tenantId, key.directoryQuotaId);
    await Promise.resolve(work).catch((err: unknown) => this.d.log.error({ err, ...key }, 'immediate re-evaluation failed; the next pass will decide'));
  }

  /** How messages name the target. */
  describe(t: Target): string {
    return t.dir ? `the directory ${t.dir.path.toString('utf8')}` : 'the volume';
  }

  /** Usage known without an external call (inside a transaction): the latest stored reading, or a directory's walk. */
  async storedUsage(db: Db, t: Target): Promise<Usage | null> {
    if (t.dir) return t.dir.walkUsage && { bytes: t.dir.walkUsage.bytes, inodes: t.dir.walkUsage.inodes };
    const r = (await this.d.reads.usage.latest(db, [t.volume.id])).get(t.volume.id);
    return r?.bytes != null ? { bytes: r.bytes, inodes: r.inodes ?? 0n } : null;
  }

  /** Usage now, or the latest stored reading when the engine cannot be read. */
  private async usageOf(v: Volume): Promise<Usage | null> {
    try {
      const u = await this.d.metadata.readUsage(v);
      return { bytes: u.usedBytes, inodes: u.usedInodes };
    } catch {
      return this.storedUsage(this.d.db, ofVolume(v));
    }
  }

  /**
   * Enqueues a request notice in `trx`. A directory's uses the same types and templates, with
   * the directory's limits, usage and state, and its path in `detail`.
   */
  async notify(trx: Db, type: NoticeType, req: QuotaRequest, t: Target, usage: Usage | null): Promise<void> {
    const v = t.volume;
    const found = await this.d.reads.states.current(trx, v, new Date());
    // A directory's figures must never fall back to the volume's stored usage.
    const state = t.dir ? { ...found, bytes: null, inodes: null } : found;
    const reading = usage ? { ok: true as const, bytes: usage.bytes, inodes: usage.inodes, readAt: new Date() } : { ok: false as const, error: 'no reading' };
    const path = t.dir?.path.toString('utf8') ?? null;
    const data = await this.d.enforcement.notices.noticeData(trx, t.dir ? { ...v, quota: t.dir.quota } : v, state, reading, path);
    data.reason = type === 'quota.request_approved' ? 'quota_changed' : data.reason;
    if (t.dir) {
      const base = `${this.d.publicUrl}/v1/volumes/${v.id}/directory-quotas/${t.dir.id}`;
      Object.assign(data, {
        state: t.dir.enforcement.state,
        graceDeadline: t.dir.enforcement.graceDeadline?.toISOString() ?? null,
        topDirectories: [],
        links: { enforcement: base, request: `${base}/requests` },
      });
    }
    data.request = {
      id: req.id,
      requestedBy: req.requestedBy,
      reason: req.reason,
      requested: req.requested,
      granted: req.granted,
      until: iso(req.until),
      comment: req.comment,
      explanation: req.explanation,
      link: `${this.d.publicUrl}/v1/quota-requests/${req.id}`,
    };
    const audience = type.startsWith('admin.') ? 'admins' : 'tenant';
    await this.d.outbox.enqueue(trx, { eventKey: `${req.id}:${type}`, type, audience, tenantId: v.tenantId, volumeId: v.id, data });
  }
}
