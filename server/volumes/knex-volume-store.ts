/**
 * The PostgreSQL {@link VolumeStore} over `volumes` and its two ledgers, `volume_prefixes` and
 * `redis_databases`. Row mapping stays private to this file.
 */
import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit-log.js';
import { inTransaction, type Db } from '../db/database.js';
import type { EngineKind, Quota, Volume, VolumeState } from './volume.js';
import type { NewVolume, VolumeFilter, VolumeStore, VolumeUnitOfWork } from './volume-store.js';

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
    quota: { softBytes: r.soft_bytes, hardBytes: r.hard_bytes, softInodes: r.soft_inodes, hardInodes: r.hard_inodes, graceSeconds: r.grace_seconds },
    storage: { kind: r.storage_kind, bucket: r.storage_bucket },
    requestHash: r.request_hash,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const big = (x: bigint | null) => (x === null ? null : x.toString());

/** {@link VolumeStore} over PostgreSQL; `db` is the pool or, inside `transaction`, the transaction. */
export class KnexVolumeStore implements VolumeStore {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: (uow: VolumeUnitOfWork) => Promise<T>): Promise<T> {
    return inTransaction(this.db as Knex, (trx) => fn(this.joined(trx)));
  }

  joined(trx: Db): VolumeUnitOfWork {
    return { trx, store: new KnexVolumeStore(trx), audit: (actor, e) => recordAudit(trx, actor, e) };
  }

  async insert(v: NewVolume): Promise<Volume> {
    const rows = (await this.db('volumes')
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

  async findLiveByName(tenantId: string, name: string): Promise<Volume | undefined> {
    const row = (await this.db('volumes').where({ tenant_id: tenantId, name }).whereNotIn('state', ['deleting', 'purged']).first()) as VolumeRow | undefined;
    return row && fromRow(row);
  }

  async find(volumeId: string, opts: { forUpdate?: boolean } = {}): Promise<Volume | undefined> {
    const q = this.db('volumes').where({ id: volumeId }).first();
    // NO KEY UPDATE: the row changes, its key never does, so foreign-key checks of inserts that
    // reference it (transitions, notices, requests) do not wait on it, and cannot deadlock with it.
    if (opts.forUpdate) q.forNoKeyUpdate();
    const row = (await q) as VolumeRow | undefined;
    return row && fromRow(row);
  }

  async list(f: VolumeFilter): Promise<Volume[]> {
    const q = this.db('volumes').orderBy('id').limit(f.limit);
    if (f.tenantIds) q.whereIn('tenant_id', [...f.tenantIds]);
    if (f.state) q.where('state', f.state);
    if (f.afterId) q.where('id', '>', f.afterId);
    return ((await q) as VolumeRow[]).map(fromRow);
  }

  async liveBuckets(tenantId: string): Promise<string[]> {
    const rows = (await this.db('volumes')
      .where({ tenant_id: tenantId })
      .whereIn('state', ['provisioning', 'active'])
      .whereNotNull('storage_bucket')
      .orderBy('storage_bucket')
      .select('storage_bucket')) as { storage_bucket: string }[];
    return rows.map((r) => r.storage_bucket);
  }

  async setState(volumeId: string, state: VolumeState, detail: string | null = null): Promise<Volume> {
    const rows = (await this.db('volumes')
      .where({ id: volumeId })
      .update({ state, state_detail: detail, updated_at: this.db.fn.now(), ...(state === 'deleting' ? { deleted_at: this.db.fn.now() } : {}) })
      .returning('*')) as VolumeRow[];
    return fromRow(rows[0]!);
  }

  async updateQuota(volumeId: string, q: Omit<Quota, 'graceSeconds'>): Promise<Volume> {
    const rows = (await this.db('volumes')
      .where({ id: volumeId })
      .update({ soft_bytes: big(q.softBytes), hard_bytes: big(q.hardBytes), soft_inodes: big(q.softInodes), hard_inodes: big(q.hardInodes), updated_at: this.db.fn.now() })
      .returning('*')) as VolumeRow[];
    return fromRow(rows[0]!);
  }

  async claimPrefix(prefix: string, volumeId: string): Promise<boolean> {
    // ON CONFLICT DO NOTHING waits for a concurrent uncommitted claim, then loses, and keeps the transaction usable.
    const rows = (await this.db('volume_prefixes').insert({ prefix, volume_id: volumeId }).onConflict('prefix').ignore().returning('prefix')) as unknown[];
    return rows.length === 1;
  }

  async retirePrefix(prefix: string): Promise<void> {
    await this.db('volume_prefixes').where({ prefix }).whereNull('retired_at').update({ retired_at: this.db.fn.now() });
  }

  async claimFreeRedisDb(server: string, pool: readonly number[], volumeId: string): Promise<number | undefined> {
    const r = await this.db.raw(
      `INSERT INTO redis_databases (server, db, volume_id)
       SELECT ?, n, ? FROM unnest(?::int[]) AS n
        WHERE NOT EXISTS (SELECT 1 FROM redis_databases r WHERE r.server = ? AND r.db = n)
        ORDER BY n LIMIT 1
       ON CONFLICT DO NOTHING
       RETURNING db`,
      [server, volumeId, [...pool], server],
    );
    return (r as { rows: { db: number }[] }).rows[0]?.db;
  }

  async countRedisDbs(server: string, pool: readonly number[]): Promise<number> {
    const taken = await this.db('redis_databases')
      .where({ server })
      .whereIn('db', [...pool])
      .count<{ n: string }[]>('* as n');
    return Number(taken[0]?.n ?? 0);
  }

  async claimRedisDb(server: string, dbNumber: number, volumeId: string): Promise<boolean> {
    const rows = (await this.db('redis_databases').insert({ server, db: dbNumber, volume_id: volumeId }).onConflict(['server', 'db']).ignore().returning('db')) as unknown[];
    return rows.length > 0;
  }
}
