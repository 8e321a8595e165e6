/**
 * The directory quota work of admins and of Headroom itself: `juicefs quota check` parity (with
 * `--repair`), and discovery of quotas set outside Headroom, which become unmanaged rows that
 * nothing changes until an admin takes them over. Metadata reads happen before any transaction.
 */
import { ulid } from 'ulid';
import type { Actor } from '../audit/audit-log.js';
import type { Principal } from '../auth/principal.js';
import { errors } from '../lib/errors.js';
import { dirQuotaKey, type DirQuotaRecord } from '../meta/volume-metadata.js';
import type { Quota } from '../volumes/volume.js';
import { limitOf, type DirectoryQuota } from './directory-quota.js';
import { dirQuotaErrors } from './directory-quota-errors.js';
import { meta, type DirectoryQuotaDeps, type DirectoryQuotaService } from './directory-quota-service.js';
import { presentDirectoryQuota, type DirectoryQuotaView } from './directory-quota-view.js';

/** Check, repair and discovery of directory quotas. */
export class DirectoryQuotaMaintenance {
  constructor(
    private readonly d: Pick<DirectoryQuotaDeps, 'store' | 'metadata'>,
    private readonly s: DirectoryQuotaService,
  ) {}

  /**
   * `juicefs quota check`: the record's usage next to the subtree's real usage; with `repair`
   * (admins, managed quotas only) the record's usage is rewritten, as `--repair` does.
   */
  async check(actor: Actor, principal: Principal, volumeId: string, id: string, repair: boolean) {
    const v = await this.s.activeVolume(principal, volumeId);
    const q = await this.s.visibleQuota(principal, v, id);
    if (repair && principal.role !== 'admin') throw dirQuotaErrors.repairNeedsAdmin();
    if (!q.native) throw dirQuotaErrors.nativeUnsupported((await meta(() => this.d.metadata.quotaCapabilities(v))).dirReason ?? 'the volume has no native directory quotas');
    if (repair && !q.managed) throw dirQuotaErrors.unmanaged(id, 'repair');
    const rec = (await meta(() => this.d.metadata.readDirQuotasMany([{ volume: v, inode: q.inode }]))).get(dirQuotaKey(v.id, q.inode));
    if (rec instanceof Error) throw errors.metadataUnavailable(rec.message);
    const actual = await meta(() => this.d.metadata.subtreeUsage(v, q.inode));
    const recorded = rec ? { usedBytes: Number(rec.usedSpace), usedInodes: Number(rec.usedInodes) } : null;
    const drift = rec ? { bytes: Number(actual.space - rec.usedSpace), inodes: Number(actual.inodes - rec.usedInodes) } : null;
    let repaired = false;
    if (repair && rec && (drift!.bytes !== 0 || drift!.inodes !== 0)) {
      repaired = (await meta(() => this.d.metadata.repairDirQuota(v, q.inode, actual))).repaired;
      if (repaired) {
        await this.d.store.transaction(({ audit }) =>
          audit(actor, {
            action: 'directory_quota.repaired',
            entityType: 'directory_quota',
            entityId: q.id,
            tenantId: v.tenantId,
            before: { quotaId: q.id, volumeId: v.id, ...recorded },
            after: { quotaId: q.id, usedBytes: Number(actual.space), usedInodes: Number(actual.inodes) },
          }),
        );
      }
    }
    return {
      quotaId: q.id,
      recordPresent: !!rec,
      recorded,
      actual: { usedBytes: Number(actual.space), usedInodes: Number(actual.inodes) },
      drift,
      consistent: !!rec && drift!.bytes === 0 && drift!.inodes === 0,
      repaired,
    };
  }

  /** {@link discover} for Headroom's own work (adoption, walks): acts as the system, for no caller. */
  discoverAsSystem(volumeId: string): Promise<DirectoryQuotaView[]> {
    return this.discover({ sub: 'system:directory-quotas', role: 'system' }, { sub: 'system:directory-quotas', role: 'admin', tenants: [] }, volumeId);
  }

  /** Lists JuiceFS's records and adds the ones Headroom does not know as unmanaged quotas. */
  async discover(actor: Actor, principal: Principal, volumeId: string): Promise<DirectoryQuotaView[]> {
    const v = await this.s.activeVolume(principal, volumeId);
    const caps = await meta(() => this.d.metadata.quotaCapabilities(v));
    if (!caps.dirQuotas) return [];
    const found: { rec: DirQuotaRecord; path: Buffer }[] = [];
    for (const rec of await meta(() => this.d.metadata.listDirQuotas(v))) {
      if (await this.d.store.findByInode(v.tenantId, v.id, rec.inode)) continue;
      const path = (await meta(() => this.d.metadata.directoryPath(v, rec.inode))) ?? Buffer.from(`inode:${rec.inode}`);
      found.push({ rec, path });
    }
    if (!found.length) return [];
    const rows = await this.d.store.transaction(async ({ store, audit }) => {
      const out: DirectoryQuota[] = [];
      for (const { rec, path } of found) {
        if (await store.findByInode(v.tenantId, v.id, rec.inode)) continue; // discovered concurrently
        const quota: Quota = { softBytes: null, hardBytes: limitOf(rec.maxSpace), softInodes: null, hardInodes: limitOf(rec.maxInodes), graceSeconds: 0 };
        const q = await store.insert({
          id: `dq_${ulid().toLowerCase()}`,
          tenantId: v.tenantId,
          volumeId: v.id,
          path,
          inode: rec.inode,
          quota,
          ownerSub: null,
          managed: false,
          native: true,
          observed: { maxSpace: rec.maxSpace, maxInodes: rec.maxInodes },
          applied: true,
        });
        await audit(actor, { action: 'directory_quota.discovered', entityType: 'directory_quota', entityId: q.id, tenantId: v.tenantId, before: null, after: presentDirectoryQuota(q) });
        out.push(q);
      }
      return out;
    });
    const byInode = new Map(found.map((f) => [f.rec.inode, f.rec]));
    return rows.map((q) => this.s.present(q, byInode.get(q.inode)));
  }
}
