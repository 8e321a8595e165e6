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
import { findState, initialState } from '../enforcement/enforcement-store.js';
import type { Outbox } from '../notifications/outbox.js';
import type { VolumeService } from '../volumes/volume-service.js';
import { findVolume } from '../volumes/volume-store.js';
import type { SeaweedStorage } from './seaweedfs/seaweedfs-storage.js';
import type { StorageCredentials } from './storage-credentials.js';

const RECONCILER: Actor = { sub: 'system:reconciler', role: 'system' };
/** A volume still provisioning after this long was cut off by a crash (a live create takes seconds). */
const STUCK_AFTER_MS = 60_000;
/** Storage and metadata usage may differ by this fraction (and the configured floor) before admins hear of it. */
const GAP_FRACTION = 0.2;

/** Runs one reconcile pass. */
export class StorageReconciler {
  constructor(
    private readonly db: Knex,
    private readonly log: Logger,
    private readonly volumes: VolumeService,
    private readonly storage: SeaweedStorage | undefined,
    private readonly enforcement: EnforcementService,
    private readonly outbox: Outbox,
    private readonly gapFloor: bigint,
    /** Finishes key rotations (revokes previous keys after their overlap). */
    private readonly credentials?: StorageCredentials,
  ) {}

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
    const rows = (await this.db('volumes as v')
      .leftJoin('usage_readings as r', 'r.volume_id', 'v.id')
      .where('v.state', 'active')
      .whereNotNull('v.storage_bucket')
      .select('v.id', 'v.storage_bucket', 'r.bytes')) as { id: string; storage_bucket: string; bytes: bigint | null }[];
    const now = new Date();
    let gaps = 0;
    for (const r of rows) {
      const u = usage.get(r.storage_bucket) ?? { logicalBytes: 0n, physicalBytes: 0n, objects: 0n };
      await this.db('usage_readings')
        .insert({ volume_id: r.id, storage_bytes: u.logicalBytes.toString(), storage_objects: u.objects.toString(), storage_read_at: now })
        .onConflict('volume_id')
        .merge(['storage_bytes', 'storage_objects', 'storage_read_at']);
      if (r.bytes === null) continue;
      const gap = u.logicalBytes - r.bytes;
      const abs = gap < 0n ? -gap : gap;
      const big = r.bytes > u.logicalBytes ? r.bytes : u.logicalBytes;
      if (abs <= this.gapFloor || Number(abs) <= Number(big) * GAP_FRACTION) continue;
      gaps++;
      await inTransaction(this.db, async (trx) => {
        const v = (await findVolume(trx, r.id))!;
        const state = (await findState(trx, v.id)) ?? initialState(v.id, v.tenantId, now);
        const detail =
          gap > 0n
            ? `its bucket ${r.storage_bucket} holds ${u.logicalBytes} bytes but its metadata counts ${r.bytes}: objects without metadata (leaked slices; run juicefs gc)`
            : `its metadata counts ${r.bytes} bytes but its bucket ${r.storage_bucket} holds only ${u.logicalBytes}: objects are missing, or still being uploaded`;
        const data = await this.enforcement.notices.noticeData(trx, v, state, { ok: true, bytes: r.bytes!, inodes: state.inodes ?? 0n, readAt: now }, detail);
        await this.outbox.enqueue(trx, {
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
