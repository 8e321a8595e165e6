/**
 * What the weekly digest reports per tenant, read across volumes, readings, samples, states,
 * requests and walks in a few queries (a read model: it joins other features' tables and
 * writes nothing).
 */
import type { Db } from '../db/database.js';
import type { Sample } from '../quotas/forecast.js';

/** One volume's figures for the digest. */
export interface DigestVolumeRow {
  id: string;
  name: string;
  state: string;
  bytes: bigint | null;
  softBytes: bigint | null;
  hardBytes: bigint | null;
  /** The first sample of the week (growth is measured from it). */
  weekStartBytes: bigint | null;
  reclaimableBytes: bigint;
}

const big = (v: unknown) => (v === null || v === undefined ? null : BigInt(v as string));

/** Tenants with at least one active volume, with their display names. */
export async function digestTenants(db: Db): Promise<{ id: string; name: string }[]> {
  const rows = (await db('tenants as t')
    .select('t.id', 't.display_name')
    .whereExists(db('volumes as v').select(db.raw('1')).whereRaw('v.tenant_id = t.id').where('v.state', 'active'))
    .orderBy('t.id')) as { id: string; display_name: string }[];
  return rows.map((r) => ({ id: r.id, name: r.display_name }));
}

/** The tenant's active volumes, largest first (at most `limit`). */
export async function digestVolumes(db: Db, tenantId: string, since: Date, limit = 50): Promise<DigestVolumeRow[]> {
  const r = await db.raw(
    `SELECT v.id, v.name, v.soft_bytes, v.hard_bytes, r.bytes, COALESCE(s.state, 'ok') AS state,
            (SELECT u.bytes FROM usage_samples u WHERE u.volume_id = v.id AND u.at >= ? ORDER BY u.at LIMIT 1) AS week_start_bytes,
            (SELECT w.reclaimable_bytes FROM insight_walks w WHERE w.volume_id = v.id ORDER BY w.walked_at DESC LIMIT 1) AS reclaimable_bytes
       FROM volumes v
       LEFT JOIN usage_readings r ON r.volume_id = v.id
       LEFT JOIN enforcement_states s ON s.volume_id = v.id
      WHERE v.tenant_id = ? AND v.state = 'active'
      ORDER BY r.bytes DESC NULLS LAST, v.id
      LIMIT ?`,
    [since, tenantId, limit],
  );
  return ((r as { rows: Record<string, unknown>[] }).rows ?? []).map((x) => ({
    id: x.id as string,
    name: x.name as string,
    state: x.state as string,
    bytes: big(x.bytes),
    softBytes: big(x.soft_bytes),
    hardBytes: big(x.hard_bytes),
    weekStartBytes: big(x.week_start_bytes),
    reclaimableBytes: big(x.reclaimable_bytes) ?? 0n,
  }));
}

/** Samples since `since` per volume, oldest first (the forecast's input). */
export async function digestSamples(db: Db, volumeIds: readonly string[], since: Date): Promise<Map<string, Sample[]>> {
  const out = new Map<string, Sample[]>();
  if (!volumeIds.length) return out;
  const rows = (await db('usage_samples')
    .whereIn('volume_id', [...volumeIds])
    .where('at', '>=', since)
    .orderBy('at')) as Record<string, unknown>[];
  for (const r of rows) {
    const id = r.volume_id as string;
    out.set(id, [...(out.get(id) ?? []), { at: r.at as Date, bytes: BigInt(r.bytes as string), inodes: BigInt(r.inodes as string) }]);
  }
  return out;
}

/** Quota requests of the tenant waiting for review. */
export async function pendingRequestCount(db: Db, tenantId: string): Promise<number> {
  const [r] = (await db('quota_requests').where({ tenant_id: tenantId, state: 'pending' }).count('* as n')) as { n: string | number }[];
  return Number(r?.n ?? 0);
}
