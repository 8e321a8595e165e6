/**
 * Directory quota use cases. Each change is decided in one transaction (row + audit), then
 * carried out on JuiceFS after commit by the {@link DirectoryQuotaApplier}; metadata reads that
 * a decision needs (capabilities, the path's inode, an existing record) happen before the
 * transaction, never inside it. Quotas found in JuiceFS that Headroom did not set are listed as
 * unmanaged and never written until an admin takes them over.
 */
import { ulid } from 'ulid';
import type { Actor } from '../audit/audit-log.js';
import type { Principal } from '../auth/principal.js';
import type { Db } from '../db/database.js';
import { errors } from '../lib/errors.js';
import { dirQuotaKey, userGroupQuotaKey, type DirQuotaMetadata, type DirQuotaRecord, type UserGroupKind, type UserGroupQuotaMetadata, type VolumeRef } from '../meta/volume-metadata.js';
import { checkQuota, type PlatformCeiling } from '../quotas/quota-check.js';
import type { Quota, Volume } from '../volumes/volume.js';
import type { DirectoryQuota, GrantUsage, QuotaKind } from './directory-quota.js';
import type { DirectoryQuotaApplier } from './directory-quota-applier.js';
import type { DirectoryQuotaEnforcer } from './directory-quota-enforcer.js';
import { dirQuotaErrors } from './directory-quota-errors.js';
import { DirectoryQuotaExistsError, type DirectoryQuotaStore } from './directory-quota-store.js';
import { big, hasHard, meta, pathOf, quotaOf, type CreateDirectoryQuotaInput, type Limit, type UpdateDirectoryQuotaInput } from './directory-quota-input.js';
import { presentDirectoryQuota, type DirectoryQuotaView } from './directory-quota-view.js';
import { readQuotaRecords } from './quota-record-reads.js';

export interface DirectoryQuotaDeps {
  store: DirectoryQuotaStore;
  volumes: { get(principal: Principal, volumeId: string): Promise<Volume> };
  metadata: DirQuotaMetadata & Partial<UserGroupQuotaMetadata>;
  applier: DirectoryQuotaApplier;
  enforcer: DirectoryQuotaEnforcer;
  ceiling: PlatformCeiling;
}

export { meta, type CreateDirectoryQuotaInput, type UpdateDirectoryQuotaInput };
const activeOnly = (q: DirectoryQuota | undefined) => (q?.state === 'active' ? q : undefined);

/** Directory quota use cases. */
export class DirectoryQuotaService {
  constructor(private readonly d: DirectoryQuotaDeps) {}

  /** The active volume the caller may see, or 404/409. */
  async activeVolume(principal: Principal, volumeId: string): Promise<Volume> {
    const v = await this.d.volumes.get(principal, volumeId);
    if (v.state !== 'active') throw errors.volumeNotActive(volumeId, v.state);
    return v;
  }

  /** A quota of the volume the caller may see: engineers only the ones they own. */
  async visibleQuota(principal: Principal, v: Volume, id: string, kind: QuotaKind = 'dir'): Promise<DirectoryQuota> {
    const q = await this.d.store.find(v.tenantId, id);
    if (!q || q.volumeId !== v.id || q.kind !== kind || (principal.role === 'engineer' && q.ownerSub !== principal.sub)) throw dirQuotaErrors.notFound(id);
    return q;
  }

  /** The JuiceFS records of native quotas by row id, in one batch per kind; a failed read is reported, not thrown. */
  private records(v: VolumeRef, qs: DirectoryQuota[]): Promise<Map<string, DirQuotaRecord | null | Error>> {
    return readQuotaRecords(
      this.d.metadata,
      qs.filter((q) => q.native).map((quota) => ({ quota, volume: v })),
    );
  }

  /** A quota as the API shows it, with the record read for it (or the read's error). */
  present(q: DirectoryQuota, r: DirQuotaRecord | null | Error | undefined): DirectoryQuotaView {
    return presentDirectoryQuota(q, r instanceof Error ? { readError: r.message } : { record: r });
  }

  /** A page of the volume's quotas with their usage, read from JuiceFS in one batch. */
  async list(principal: Principal, volumeId: string, page: { afterId?: string; limit: number }, kind: QuotaKind = 'dir'): Promise<DirectoryQuotaView[]> {
    const v = await this.d.volumes.get(principal, volumeId);
    const rows = await this.d.store.list(v.tenantId, v.id, { ...page, kind, ownerSub: principal.role === 'engineer' ? principal.sub : undefined });
    const recs = v.state === 'active' ? await this.records(v, rows) : new Map();
    return rows.map((q) => this.present(q, recs.get(q.id)));
  }

  async get(principal: Principal, volumeId: string, id: string, kind: QuotaKind = 'dir'): Promise<DirectoryQuotaView> {
    const v = await this.d.volumes.get(principal, volumeId);
    const q = await this.visibleQuota(principal, v, id, kind);
    return this.present(q, (await this.records(v, [q])).get(q.id));
  }

  /** A JuiceFS 1.4 user or group quota (keyed by uid/gid); 409 with the reason on formats without them. */
  async createOwner(
    actor: Actor,
    principal: Principal,
    volumeId: string,
    kind: UserGroupKind,
    input: Omit<CreateDirectoryQuotaInput, 'path' | 'pathBase64'> & { id: number },
  ): Promise<DirectoryQuotaView> {
    const v = await this.activeVolume(principal, volumeId);
    const quota = quotaOf(input);
    checkQuota(quota, this.d.ceiling);
    const caps = await meta(() => this.d.metadata.quotaCapabilities(v));
    if (!caps.userGroupQuotas || !this.d.metadata.readUserGroupQuotasMany) throw dirQuotaErrors.nativeUnsupported(caps.userGroupReason ?? 'user/group quotas are not available');
    const id = BigInt(input.id);
    const known = await this.d.store.findByInode(v.tenantId, v.id, id, kind);
    if (known) throw dirQuotaErrors.exists(`${kind === 'user' ? 'uid' : 'gid'}:${id}`, known.id);
    const rec = (await meta(() => this.d.metadata.readUserGroupQuotasMany!([{ volume: v, kind, id }]))).get(userGroupQuotaKey(v.id, kind, id));
    if (rec instanceof Error) throw errors.metadataUnavailable(rec.message);
    // JuiceFS's scan leaves a −1/−1 record for every owner with files: only limits make one foreign.
    if (rec && (rec.maxSpace > 0n || rec.maxInodes > 0n)) throw dirQuotaErrors.foreign(`${kind === 'user' ? 'uid' : 'gid'}:${id}`);
    const row = await this.d.store.transaction(async ({ store, audit }) => {
      const q = await store.insert({
        id: `dq_${ulid().toLowerCase()}`,
        tenantId: v.tenantId,
        volumeId: v.id,
        kind,
        path: Buffer.alloc(0),
        inode: id,
        quota,
        ownerSub: input.ownerSub ?? null,
        managed: true,
        native: true,
      });
      await audit(actor, { action: `${kind}_quota.created`, entityType: 'directory_quota', entityId: q.id, tenantId: v.tenantId, before: null, after: presentDirectoryQuota(q) });
      return q;
    });
    const out = await this.d.applier.apply(row);
    return presentDirectoryQuota(out.quota ?? row, { record: out.record, readError: out.error });
  }

  /** Creates a quota on an existing directory; its hard limits become JuiceFS's own record. */
  async create(actor: Actor, principal: Principal, volumeId: string, input: CreateDirectoryQuotaInput): Promise<DirectoryQuotaView> {
    const v = await this.activeVolume(principal, volumeId);
    const path = pathOf(input);
    const quota = quotaOf(input);
    checkQuota(quota, this.d.ceiling);
    const caps = await meta(() => this.d.metadata.quotaCapabilities(v));
    if (!caps.dirQuotas && hasHard(quota)) throw dirQuotaErrors.nativeUnsupported(caps.dirReason!);
    const inode = await meta(() => this.d.metadata.resolveDirectory(v, path));
    if (inode === undefined) throw dirQuotaErrors.directoryNotFound(path.toString('utf8'));
    const known = await this.d.store.findByInode(v.tenantId, v.id, inode);
    if (known) throw dirQuotaErrors.exists(path.toString('utf8'), known.id);
    if (caps.dirQuotas) {
      const rec = (await meta(() => this.d.metadata.readDirQuotasMany([{ volume: v, inode }]))).get(dirQuotaKey(v.id, inode));
      if (rec instanceof Error) throw errors.metadataUnavailable(rec.message);
      if (rec) throw dirQuotaErrors.foreign(path.toString('utf8'));
    }
    const row = await this.d.store.transaction(async ({ store, audit }) => {
      try {
        const q = await store.insert({
          id: `dq_${ulid().toLowerCase()}`,
          tenantId: v.tenantId,
          volumeId: v.id,
          path,
          inode,
          quota,
          ownerSub: input.ownerSub ?? null,
          managed: true,
          native: caps.dirQuotas,
        });
        await audit(actor, { action: 'directory_quota.created', entityType: 'directory_quota', entityId: q.id, tenantId: v.tenantId, before: null, after: presentDirectoryQuota(q) });
        return q;
      } catch (err) {
        if (err instanceof DirectoryQuotaExistsError) throw dirQuotaErrors.exists(path.toString('utf8'), 'unknown');
        throw err;
      }
    });
    const out = await this.d.applier.apply(row);
    return presentDirectoryQuota(out.quota ?? row, { record: out.record, readError: out.error });
  }

  /** Changes limits, owner or grace; `takeOver` (admins) makes an unmanaged quota Headroom's. */
  async update(actor: Actor, principal: Principal, volumeId: string, id: string, input: UpdateDirectoryQuotaInput, kind: QuotaKind = 'dir'): Promise<DirectoryQuotaView> {
    const v = await this.activeVolume(principal, volumeId);
    const current = await this.visibleQuota(principal, v, id, kind);
    if (input.takeOver && principal.role !== 'admin') throw dirQuotaErrors.takeOverNeedsAdmin();
    if (!current.managed && !input.takeOver) throw dirQuotaErrors.unmanaged(id, 'change');
    if (current.state !== 'active') throw dirQuotaErrors.notFound(id);
    const pick = (x: Limit, was: bigint | null) => (x === undefined ? was : big(x));
    const c = current.quota;
    const quota: Quota = {
      softBytes: pick(input.softBytes, c.softBytes),
      hardBytes: pick(input.hardBytes, c.hardBytes),
      softInodes: pick(input.softInodes, c.softInodes),
      hardInodes: pick(input.hardInodes, c.hardInodes),
      graceSeconds: input.graceSeconds ?? c.graceSeconds,
    };
    checkQuota(quota, this.d.ceiling);
    if (!current.native && hasHard(quota)) throw dirQuotaErrors.nativeUnsupported((await meta(() => this.d.metadata.quotaCapabilities(v))).dirReason ?? 'the volume has no native directory quotas');
    const row = await this.d.store.transaction(async ({ store, audit }) => {
      const before = await store.find(v.tenantId, id, { forUpdate: true });
      if (!before || before.state !== 'active') throw dirQuotaErrors.notFound(id);
      const bump = before.quota.hardBytes !== quota.hardBytes || before.quota.hardInodes !== quota.hardInodes || (!before.managed && !!input.takeOver);
      const after = (await store.update(v.tenantId, id, { quota, ownerSub: input.ownerSub, managed: before.managed || !!input.takeOver, bump }))!;
      await audit(actor, {
        action: input.takeOver && !before.managed ? 'directory_quota.taken_over' : 'directory_quota.updated',
        entityType: 'directory_quota',
        entityId: id,
        tenantId: v.tenantId,
        before: presentDirectoryQuota(before),
        after: presentDirectoryQuota(after),
      });
      return after;
    });
    const out = await this.d.applier.apply(row);
    return presentDirectoryQuota(out.quota ?? row, { record: out.record, readError: out.error });
  }

  /** Marks the quota deleted, then removes the JuiceFS record (as `juicefs quota delete`) and the row. */
  async delete(actor: Actor, principal: Principal, volumeId: string, id: string, kind: QuotaKind = 'dir'): Promise<DirectoryQuotaView> {
    const v = await this.activeVolume(principal, volumeId);
    const current = await this.visibleQuota(principal, v, id, kind);
    if (!current.managed) throw dirQuotaErrors.unmanaged(id, 'delete');
    const row = await this.d.store.transaction(async ({ store, audit }) => {
      const before = await store.find(v.tenantId, id, { forUpdate: true });
      if (!before) throw dirQuotaErrors.notFound(id);
      const after = (await store.update(v.tenantId, id, { state: 'deleting', bump: true }))!;
      await audit(actor, { action: 'directory_quota.deleted', entityType: 'directory_quota', entityId: id, tenantId: v.tenantId, before: presentDirectoryQuota(before), after: null });
      return after;
    });
    const out = await this.d.applier.apply(row);
    return presentDirectoryQuota(out.quota ?? row, { readError: out.error }, !out.quota);
  }

  /**
   * A quota as a quota request sees it (the requests feature files, decides and reverts them): the
   * caller's own quota (engineers: only those they own, else 404), managed and active, and its
   * usage. Asking for a hard limit where JuiceFS cannot enforce one is refused with the reason.
   */
  async requestable(principal: Principal, volumeId: string, id: string, asksHard: boolean): Promise<{ volume: Volume; quota: DirectoryQuota; usage: GrantUsage | null }> {
    const v = await this.activeVolume(principal, volumeId);
    const q = await this.visibleQuota(principal, v, id);
    if (q.state !== 'active') throw dirQuotaErrors.notFound(id);
    if (!q.managed) throw dirQuotaErrors.unmanaged(id, 'request more room for');
    if (asksHard && !q.native) throw dirQuotaErrors.nativeUnsupported((await meta(() => this.d.metadata.quotaCapabilities(v))).dirReason ?? 'the volume has no native directory quotas');
    return { volume: v, quota: q, usage: await this.usageOf(v, q) };
  }

  /** Usage as a grant judges it: the JuiceFS record's, or the latest walk's without native quotas; null when unknown. */
  async usageOf(v: VolumeRef, q: DirectoryQuota): Promise<GrantUsage | null> {
    if (!q.native) return q.walkUsage && { bytes: q.walkUsage.bytes, inodes: q.walkUsage.inodes };
    const rec = (await this.records(v, [q])).get(q.id);
    return rec && !(rec instanceof Error) ? { bytes: rec.usedSpace, inodes: rec.usedInodes } : null;
  }

  /** The active quota a request is for (approvals and reverts: admins and the system), or undefined when it is gone. */
  async findForGrant(tenantId: string, id: string): Promise<DirectoryQuota | undefined> {
    return activeOnly(await this.d.store.find(tenantId, id));
  }

  /** The same, locked in the caller's transaction (a grant or its revert). */
  async lockForGrant(trx: Db, tenantId: string, id: string): Promise<DirectoryQuota | undefined> {
    return activeOnly(await this.d.store.joined(trx).store.find(tenantId, id, { forUpdate: true }));
  }

  /**
   * Sets a quota's limits as a grant (or a grant's revert), in the caller's transaction, with its
   * audit row; `q` is the row {@link lockForGrant} locked. JuiceFS is written after commit by
   * {@link afterGrant}, as for every other edit.
   */
  async setLimitsAsGrant(trx: Db, actor: Actor, q: DirectoryQuota, limits: Omit<Quota, 'graceSeconds'>): Promise<DirectoryQuota> {
    const { store, audit } = this.d.store.joined(trx);
    if (!q.managed) throw dirQuotaErrors.unmanaged(q.id, 'grant a request for');
    const quota: Quota = { ...limits, graceSeconds: q.quota.graceSeconds };
    if (!q.native && hasHard(quota)) throw dirQuotaErrors.nativeUnsupported('the volume has no native directory quotas');
    checkQuota(quota, this.d.ceiling);
    const bump = q.quota.hardBytes !== quota.hardBytes || q.quota.hardInodes !== quota.hardInodes;
    const after = (await store.update(q.tenantId, q.id, { quota, bump }))!;
    await audit(actor, {
      action: 'directory_quota.updated',
      entityType: 'directory_quota',
      entityId: q.id,
      tenantId: q.tenantId,
      before: presentDirectoryQuota(q),
      after: presentDirectoryQuota(after),
    });
    return after;
  }

  /** After a grant's commit: writes the JuiceFS record, then decides the quota at once (a raise unfreezes now). */
  async afterGrant(tenantId: string, id: string): Promise<void> {
    const row = await this.d.store.find(tenantId, id);
    const out = row && (await this.d.applier.apply(row));
    if (out?.quota) await this.d.enforcer.recheck(out.quota);
  }

  /** An admin freeze: the directory's hard limits are clamped to its usage until `until` or an unfreeze. */
  async freeze(actor: Actor, principal: Principal, volumeId: string, id: string, input: { reason: string; until?: string; unfreeze?: boolean }): Promise<DirectoryQuotaView> {
    const v = await this.activeVolume(principal, volumeId);
    const q = await this.visibleQuota(principal, v, id);
    if (!q.managed) throw dirQuotaErrors.unmanaged(id, input.unfreeze ? 'unfreeze' : 'freeze');
    if (!q.native) throw dirQuotaErrors.nativeUnsupported((await meta(() => this.d.metadata.quotaCapabilities(v))).dirReason ?? 'the volume has no native directory quotas');
    if (input.unfreeze && !q.enforcement.manual) throw dirQuotaErrors.notManuallyFrozen(id, q.enforcement.state);
    const rec = (await this.records(v, [q])).get(q.id);
    const after = input.unfreeze
      ? await this.d.enforcer.unfreeze(actor, q, rec)
      : await this.d.enforcer.freeze(actor, q, rec, { until: input.until ? new Date(input.until) : null, reason: input.reason });
    if (!after) throw dirQuotaErrors.notFound(id);
    return this.present(after, (await this.records(v, [after])).get(q.id));
  }
}
