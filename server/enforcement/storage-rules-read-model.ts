/**
 * A read model for the storage layer: the volumes whose desired state says their objects are
 * frozen, joined with where those objects are. The storage freezer writes filer.conf from it.
 */
import type { Db } from '../db/database.js';

/** Volumes whose storage rule should be in place, with the bucket and name that locate it. */
export async function storageFrozenVolumes(db: Db): Promise<{ volumeId: string; tenantId: string; prefix: string; bucket: string; generation: bigint }[]> {
  const rows = (await db('enforcement_states as e')
    .join('volumes as v', 'v.id', 'e.volume_id')
    .where('e.storage_desired', true)
    .whereNotNull('v.storage_bucket')
    .select('v.id', 'v.tenant_id', 'v.prefix', 'v.storage_bucket', 'e.storage_generation')) as { id: string; tenant_id: string; prefix: string; storage_bucket: string; storage_generation: bigint }[];
  return rows.map((r) => ({ volumeId: r.id, tenantId: r.tenant_id, prefix: r.prefix, bucket: r.storage_bucket, generation: BigInt(r.storage_generation) }));
}
