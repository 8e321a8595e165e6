/**
 * Carries out directory quota decisions after their transaction committed: writes (or deletes)
 * the JuiceFS record, then records the generation applied and what the record holds, or the
 * error. A failure is recorded and retried by {@link DirectoryQuotaApplier.reconcile}, never
 * rolled into the decision. Quotas Headroom does not manage are never written.
 */
import type { Logger } from 'pino';
import type { DirQuotaLimits, DirQuotaMetadata, DirQuotaRecord, UserGroupQuotaMetadata, VolumeRef } from '../meta/volume-metadata.js';
import { desiredLimits, type DirectoryQuota } from './directory-quota.js';
import type { DirectoryQuotaStore } from './directory-quota-store.js';

/** What applying one quota did. */
export interface ApplyOutcome {
  /** The row after applying; undefined once a deleted quota is gone. */
  quota: DirectoryQuota | undefined;
  /** The JuiceFS record read or written, when there is one. */
  record: DirQuotaRecord | null;
  error: string | null;
}

/** Applies directory quota rows to JuiceFS. */
export class DirectoryQuotaApplier {
  constructor(
    private readonly store: DirectoryQuotaStore,
    private readonly metadata: Pick<DirQuotaMetadata, 'setDirQuota' | 'deleteDirQuota'> & Partial<Pick<UserGroupQuotaMetadata, 'setUserGroupQuota' | 'deleteUserGroupQuota'>>,
    private readonly volumeRef: (volumeId: string) => Promise<VolumeRef | undefined>,
    private readonly log?: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Writes what `q` says JuiceFS should hold (no-op for unmanaged or non-native quotas). */
  async apply(q: DirectoryQuota): Promise<ApplyOutcome> {
    const volume = await this.volumeRef(q.volumeId);
    try {
      if (!volume) throw new Error(`volume ${q.volumeId} is gone`);
      if (q.state === 'deleting') {
        if (q.native && q.managed) await this.remove(volume, q);
        await this.store.remove(q.tenantId, q.id);
        return { quota: undefined, record: null, error: null };
      }
      if (!q.managed || !q.native) {
        if (q.appliedGeneration < q.generation) await this.store.recordApplied(q.tenantId, q.id, q.generation, q.observed, this.clock());
        return { quota: await this.store.find(q.tenantId, q.id), record: null, error: null };
      }
      const { record } = await this.write(volume, q, desiredLimits(q));
      await this.store.recordApplied(q.tenantId, q.id, q.generation, { maxSpace: record.maxSpace, maxInodes: record.maxInodes }, this.clock());
      return { quota: await this.store.find(q.tenantId, q.id), record, error: null };
    } catch (err) {
      const error = (err as Error).message;
      this.log?.warn({ err, quotaId: q.id, volumeId: q.volumeId }, 'applying a directory quota failed; it will be retried');
      await this.store.recordApplyError(q.tenantId, q.id, error, this.clock());
      return { quota: await this.store.find(q.tenantId, q.id), record: null, error };
    }
  }

  /** `juicefs quota set` of the row's kind: a directory's record, or a uid's/gid's. */
  private write(v: VolumeRef, q: DirectoryQuota, limits: DirQuotaLimits): Promise<{ record: DirQuotaRecord }> {
    if (q.kind === 'dir') return this.metadata.setDirQuota(v, q.inode, limits);
    if (!this.metadata.setUserGroupQuota) throw new Error('user/group quotas are not available');
    return this.metadata.setUserGroupQuota(v, q.kind, q.inode, limits);
  }

  /** `juicefs quota delete` of the row's kind. */
  private async remove(v: VolumeRef, q: DirectoryQuota): Promise<void> {
    if (q.kind === 'dir') await this.metadata.deleteDirQuota(v, q.inode);
    else if (!this.metadata.deleteUserGroupQuota) throw new Error('user/group quotas are not available');
    else await this.metadata.deleteUserGroupQuota(v, q.kind, q.inode);
  }

  /** Applies every row whose JuiceFS record is behind (a pass's verify step); returns how many were tried. */
  async reconcile(limit = 1000): Promise<{ tried: number; failed: number }> {
    const rows = await this.store.pending(limit);
    let failed = 0;
    for (const q of rows) if ((await this.apply(q)).error) failed++;
    return { tried: rows.length, failed };
  }
}
