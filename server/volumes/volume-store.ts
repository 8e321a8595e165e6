/** PostgreSQL store for volumes. Every tenant-scoped call takes `tenantId` first. */
import type { Db } from '../db/database.js';
import type { EngineKind, Quota, Volume, VolumeState } from './volume.js';

interface VolumeRow {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  engine: EngineKind;
  meta_url: string;
  state: VolumeState;
  state_detail: string | null;
  soft_bytes: bigint | null;
  hard_bytes: bigint | null;
  soft_inodes: bigint | null;
  hard_inodes: bigint | null;
  grace_seconds: number;
  request_hash: string;
  storage_kind: 'file' | 's3';
  storage_bucket: string | null;
  created_at: Date;
  updated_at: Date;
}

function fromRow(r: VolumeRow): Volume {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    prefix: r.prefix,
    engine: r.engine,
    metaUrl: r.meta_url,
    state: r.state,
    stateDetail: r.state_detail,
    quota: {
      softBytes: r.soft_bytes,
      hardBytes: r.hard_bytes,
      softInodes: r.soft_inodes,
      hardInodes: r.hard_inodes,
      graceSeconds: r.grace_seconds,
    },
    storage: { kind: r.storage_kind, bucket: r.storage_bucket },
    requestHash: r.request_hash,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const big = (x: bigint | null) => (x === null ? null : x.toString());

/** Fields needed to insert a volume. */
export interface NewVolume {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  engine: EngineKind;
  metaUrl: string;
  quota: Quota;
  storage?: Volume['storage'];
  requestHash: string;
}

/** Inserts a volume in state `provisioning`. */
export async function insertVolume(db: Db, v: NewVolume): Promise<Volume> {
  const rows = (await db('volumes')
    .insert({
      id: v.id,
      tenant_id: v.tenantId,
      name: v.name,
      prefix: v.prefix,
      engine: v.engine,
      meta_url: v.metaUrl,
      state: 'provisioning',
      soft_bytes: big(v.quota.softBytes),
      hard_bytes: big(v.quota.hardBytes),
      soft_inodes: big(v.quota.softInodes),
      hard_inodes: big(v.quota.hardInodes),
      grace_seconds: v.quota.graceSeconds,
      request_hash: v.requestHash,
      storage_kind: v.storage?.kind ?? 'file',
      storage_bucket: v.storage?.bucket ?? null,
    })
    .returning('*')) as VolumeRow[];
  return fromRow(rows[0]!);
}

/** The tenant's live (not deleting or purged) volume called `name`. */
export async function findLiveVolumeByName(db: Db, tenantId: string, name: string): Promise<Volume | undefined> {
  const row = (await db('volumes').where({ tenant_id: tenantId, name }).whereNotIn('state', ['deleting', 'purged']).first()) as VolumeRow | undefined;
  return row && fromRow(row);
}

/** Finds a volume by id, optionally locking the row for update. */
export async function findVolume(db: Db, volumeId: string, opts: { forUpdate?: boolean } = {}): Promise<Volume | undefined> {
  const q = db('volumes').where({ id: volumeId }).first();
  // NO KEY UPDATE: the row changes, its key never does, so foreign-key checks of inserts that
  // reference it (transitions, notices, requests) do not wait on it, and cannot deadlock with it.
  if (opts.forUpdate) q.forNoKeyUpdate();
  const row = (await q) as VolumeRow | undefined;
  return row && fromRow(row);
}

/** Filters for {@link listVolumes}; `tenantIds` undefined = all tenants. */
export interface VolumeFilter {
  tenantIds?: readonly string[];
  state?: VolumeState;
  afterId?: string;
  limit: number;
}

/** A page of volumes in id (creation) order. */
export async function listVolumes(db: Db, f: VolumeFilter): Promise<Volume[]> {
  const q = db('volumes').orderBy('id').limit(f.limit);
  if (f.tenantIds) q.whereIn('tenant_id', [...f.tenantIds]);
  if (f.state) q.where('state', f.state);
  if (f.afterId) q.where('id', '>', f.afterId);
  return ((await q) as VolumeRow[]).map(fromRow);
}

/** Moves a volume to `state` (with an optional detail) and returns the new image. */
export async function setVolumeState(db: Db, volumeId: string, state: VolumeState, detail: string | null = null): Promise<Volume> {
  const rows = (await db('volumes')
    .where({ id: volumeId })
    .update({
      state,
      state_detail: detail,
      updated_at: db.fn.now(),
      ...(state === 'deleting' ? { deleted_at: db.fn.now() } : {}),
    })
    .returning('*')) as VolumeRow[];
  return fromRow(rows[0]!);
}

/** Replaces a volume's limits (grace unchanged) and returns the new image. */
export async function updateQuota(db: Db, volumeId: string, q: Omit<Quota, 'graceSeconds'>): Promise<Volume> {
  const rows = (await db('volumes')
    .where({ id: volumeId })
    .update({ soft_bytes: big(q.softBytes), hard_bytes: big(q.hardBytes), soft_inodes: big(q.softInodes), hard_inodes: big(q.hardInodes), updated_at: db.fn.now() })
    .returning('*')) as VolumeRow[];
  return fromRow(rows[0]!);
}
