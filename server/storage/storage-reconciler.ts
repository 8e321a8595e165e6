/**
 * The `reconcile` job: finishes onboardings a crash interrupted (every step is idempotent, and a
 * provisioning that fails is rolled back) and compares each volume's storage-side usage with its
 * metadata usage (freeze rules in filer.conf are verified by every enforcement pass instead),
 * telling admins about a large gap (objects without metadata, such as leaked slices awaiting
 * `juicefs gc`, or metadata whose objects are gone), and finishes storage key rotations.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Actor } from '../audit/audit-log.js';
import { inTransaction } from '../db/database.js';
import type { EnforcementService } from '../enforcement/enforcement-service.js';
import type { EnforcementStates } from '../enforcement/enforcement-states.js';
import type { Outbox } from '../notifications/outbox.js';
import type { VolumeService } from '../volumes/volume-service.js';
import type { UsageService } from '../quotas/usage-service.js';
import type { VolumeReadModel } from '../volumes/volume-read-model.js';
import type { SeaweedStorage } from './seaweedfs/seaweedfs-storage.js';
import type { StorageCredentials } from './storage-credentials.js';

const RECONCILER: Actor = { sub: 'system:reconciler', role: 'system' };
/** A volume still provisioning after this long was cut off by a crash (a live create takes seconds). */
const STUCK_AFTER_MS = 60_000;
/** Storage and metadata usage may differ by this fraction (and the configured floor) before admins hear of it. */
const GAP_FRACTION = 0.2;

/** What the reconcile pass is built from (by the composition root). */
export interface StorageReconcilerDeps {
  db: Knex;
  log: Logger;
  volumes: VolumeService;
  storage?: SeaweedStorage;
  enforcement: EnforcementService;
  outbox: Outbox;
  /** Counted bytes to compare with, and where a bucket's usage is stored. */
  usage: Pick<UsageService, 'storageComparison' | 'recordStorageUsage'>;
  /** A gap notice reads the volume and its state in its own transaction. */
  reads: { volumes: VolumeReadModel; states: Pick<EnforcementStates, 'current'> };
  /** Gaps up to this many bytes are never reported. */
  gapFloor: bigint;
  /** Finishes key rotations (revokes previous keys after their overlap). */
  credentials?: StorageCredentials;
}

/** Runs one reconcile pass. */
export class StorageReconciler {
  private readonly db: Knex;
  private readonly log: Logger;
  private readonly volumes: VolumeService;
  private readonly storage: SeaweedStorage | undefined;
  private readonly credentials: StorageCredentials | undefined;

  constructor(private readonly d: StorageReconcilerDeps) {
    ({ db: this.db, log: this.log, volumes: this.volumes, storage: this.storage, credentials: this.credentials } = d);
  }

  async run(opts: { stuckAfterMs?: number } = {}): Promise<Record<string, number>> {
    const counts = { finished: 0, failed: 0, gaps: 0 };
    for (const v of await this.volumes.stuckProvisioning(opts.stuckAfterMs ?? STUCK_AFTER_MS)) {
      const done = await this.volumes.finishProvisioning(RECONCILER, v);
      if (done.volume.state === 'active') counts.finished++;
      else if (done.volume.state === 'failed') counts.failed++;
      if (done.credentials) this.log.warn({ volumeId: v.id }, 'storage keys created while finishing an interrupted onboarding; an admin must hand them over or rotate them');
    }
    if (this.storage) counts.gaps = await this.compareUsage(this.storage);
    return this.credentials ? { ...counts, ...(await this.credentials.finishRotations()) } : counts;
  }

  /** Stores each bucket's usage next to the volume's counters and reports large gaps. */
  private async compareUsage(storage: SeaweedStorage): Promise<number> {
    const usage = await storage.usage();
    const rows = await this.d.usage.storageComparison();
    const now = new Date();
    let gaps = 0;
    for (const r of rows) {
      const u = usage.get(r.bucket) ?? { logicalBytes: 0n, physicalBytes: 0n, objects: 0n };
      await this.d.usage.recordStorageUsage(r.volumeId, { bytes: u.logicalBytes, objects: u.objects }, now);
      if (r.bytes === null) continue;
      const gap = u.logicalBytes - r.bytes;
      const abs = gap < 0n ? -gap : gap;
      const big = r.bytes > u.logicalBytes ? r.bytes : u.logicalBytes;
      if (abs <= this.d.gapFloor || Number(abs) <= Number(big) * GAP_FRACTION) continue;
      gaps++;
      await inTransaction(this.db, async (trx) => {
        const v = (await this.d.reads.volumes.find(trx, r.volumeId))!;
        const state = await this.d.reads.states.current(trx, v, now);
        const detail =
          gap > 0n
            ? `its bucket ${r.bucket} holds ${u.logicalBytes} bytes but its metadata counts ${r.bytes}: objects without metadata (leaked slices; run juicefs gc)`
            : `its metadata counts ${r.bytes} bytes but its bucket ${r.bucket} holds only ${u.logicalBytes}: objects are missing, or still being uploaded`;
        const data = await this.d.enforcement.notices.noticeData(trx, v, state, { ok: true, bytes: r.bytes!, inodes: state.inodes ?? 0n, readAt: now }, detail);
        await this.d.outbox.enqueue(trx, {
          eventKey: `${v.id}:admin.storage_gap:${now.toISOString().slice(0, 10)}`,
          type: 'admin.storage_gap',
          audience: 'admins',
          tenantId: v.tenantId,
          volumeId: v.id,
          data,
        });
      });
    }
    return gaps;
  }
}
