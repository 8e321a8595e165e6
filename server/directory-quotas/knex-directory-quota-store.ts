/** The PostgreSQL {@link DirectoryQuotaStore} over the `directory_quotas` table. */
import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit-log.js';
import { inTransaction, isUniqueViolation, type Db } from '../db/database.js';
import type { NewNotice } from '../notifications/notice.js';
import { downsampleCutoffs, type Resolution } from '../quotas/sample-retention.js';
import type { DirectoryQuota, DirectoryQuotaState, NewDirectoryQuota, ObservedLimits, QuotaKind } from './directory-quota.js';
import {
  DirectoryQuotaExistsError,
  type DirectoryQuotaPatch,
  type DirectoryQuotaSample,
  type DirectoryQuotaStore,
  type DirectoryQuotaUnitOfWork,
  type NewDirectoryQuotaSample,
} from './directory-quota-store.js';

const big = (v: unknown): bigint | null => (v === null || v === undefined ? null : BigInt(v as string));

const fromRow = (r: Record<string, unknown>): DirectoryQuota => {
  const o = r.observed as { maxSpace: string; maxInodes: string } | null;
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    volumeId: r.volume_id as string,
    kind: r.kind as QuotaKind,
    path: Buffer.from(r.path as Buffer),
    inode: BigInt(r.inode as string),
    quota: { softBytes: big(r.soft_bytes), hardBytes: big(r.hard_bytes), softInodes: big(r.soft_inodes), hardInodes: big(r.hard_inodes), graceSeconds: Number(r.grace_seconds) },
    ownerSub: (r.owner_sub as string | null) ?? null,
    managed: Boolean(r.managed),
    native: Boolean(r.native),
    state: r.state as DirectoryQuotaState,
    generation: BigInt(r.generation as string),
    appliedGeneration: BigInt(r.applied_generation as string),
    observed: o ? { maxSpace: BigInt(o.maxSpace), maxInodes: BigInt(o.maxInodes) } : null,
    lastError: (r.last_error as string | null) ?? null,
    lastErrorAt: (r.last_error_at as Date | null) ?? null,
    enforcement: {
      state: r.enf_state as DirectoryQuota['enforcement']['state'],
      since: r.enf_since as Date,
      reason: (r.enf_reason as string | null) ?? null,
      graceDeadline: (r.grace_deadline as Date | null) ?? null,
      unknownReason: (r.unknown_reason as string | null) ?? null,
      manual: r.manual_frozen ? { until: (r.manual_until as Date | null) ?? null, reason: (r.manual_reason as string | null) ?? '' } : null,
      desired: r.desired_max_space === null || r.desired_max_space === undefined ? null : { maxSpace: BigInt(r.desired_max_space as string), maxInodes: BigInt(r.desired_max_inodes as string) },
    },
    walkUsage: r.walk_at ? { bytes: BigInt(r.walk_bytes as string), inodes: BigInt(r.walk_inodes as string), at: r.walk_at as Date } : null,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
  };
};

const observedJson = (o: ObservedLimits | null | undefined) => (o ? JSON.stringify({ maxSpace: o.maxSpace.toString(), maxInodes: o.maxInodes.toString() }) : null);
const s = (v: bigint | null) => (v === null ? null : v.toString());

/** {@link DirectoryQuotaStore} over PostgreSQL; `db` is the pool or, inside `transaction`, the transaction. */
export class KnexDirectoryQuotaStore implements DirectoryQuotaStore {
  constructor(
    private readonly db: Db,
    /** The outbox's `enqueue` (notifications/outbox.ts); without it notices are dropped. */
    private readonly enqueue?: (trx: Db, n: NewNotice) => Promise<boolean>,
  ) {}

  transaction<T>(fn: (uow: DirectoryQuotaUnitOfWork) => Promise<T>): Promise<T> {
    return inTransaction(this.db as Knex, (trx) => fn(this.joined(trx)));
  }

  joined(trx: Db): DirectoryQuotaUnitOfWork {
    return {
      store: new KnexDirectoryQuotaStore(trx, this.enqueue),
      audit: (actor, e) => recordAudit(trx, actor, e),
      notify: async (n) => void (await this.enqueue?.(trx, n)),
    };
  }

  async insert(q: NewDirectoryQuota): Promise<DirectoryQuota> {
    try {
      const [row] = (await this.db('directory_quotas')
        .insert({
          id: q.id,
          tenant_id: q.tenantId,
          volume_id: q.volumeId,
          kind: q.kind ?? 'dir',
          path: q.path,
          inode: q.inode.toString(),
          soft_bytes: s(q.quota.softBytes),
          hard_bytes: s(q.quota.hardBytes),
          soft_inodes: s(q.quota.softInodes),
          hard_inodes: s(q.quota.hardInodes),
          grace_seconds: q.quota.graceSeconds,
          owner_sub: q.ownerSub,
          managed: q.managed,
          native: q.native,
          applied_generation: q.applied ? 1 : 0,
          observed: observedJson(q.observed),
        })
        .returning('*')) as Record<string, unknown>[];
      return fromRow(row!);
    } catch (err) {
      if (isUniqueViolation(err, 'directory_quotas_volume_id_kind_inode_key')) throw new DirectoryQuotaExistsError(q.volumeId, q.inode);
      throw err;
    }
  }

  async find(tenantId: string, id: string, opts: { forUpdate?: boolean } = {}): Promise<DirectoryQuota | undefined> {
    const q = this.db('directory_quotas').where({ tenant_id: tenantId, id }).first();
    const r = (await (opts.forUpdate ? q.forUpdate() : q)) as Record<string, unknown> | undefined;
    return r ? fromRow(r) : undefined;
  }

  async findByInode(tenantId: string, volumeId: string, inode: bigint, kind: QuotaKind = 'dir'): Promise<DirectoryQuota | undefined> {
    const r = (await this.db('directory_quotas').where({ tenant_id: tenantId, volume_id: volumeId, kind, inode: inode.toString() }).first()) as Record<string, unknown> | undefined;
    return r ? fromRow(r) : undefined;
  }

  async list(tenantId: string, volumeId: string, opts: { ownerSub?: string; afterId?: string; limit: number; kind?: QuotaKind }): Promise<DirectoryQuota[]> {
    const q = this.db('directory_quotas')
      .where({ tenant_id: tenantId, volume_id: volumeId, kind: opts.kind ?? 'dir' })
      .orderBy('id')
      .limit(opts.limit);
    if (opts.ownerSub !== undefined) q.andWhere({ owner_sub: opts.ownerSub });
    if (opts.afterId) q.andWhere('id', '>', opts.afterId);
    return ((await q) as Record<string, unknown>[]).map(fromRow);
  }

  async update(tenantId: string, id: string, p: DirectoryQuotaPatch): Promise<DirectoryQuota | undefined> {
    const set: Record<string, unknown> = { updated_at: this.db.fn.now() };
    if (p.quota) {
      Object.assign(set, {
        soft_bytes: s(p.quota.softBytes),
        hard_bytes: s(p.quota.hardBytes),
        soft_inodes: s(p.quota.softInodes),
        hard_inodes: s(p.quota.hardInodes),
        grace_seconds: p.quota.graceSeconds,
      });
    }
    if (p.ownerSub !== undefined) set.owner_sub = p.ownerSub;
    if (p.managed !== undefined) set.managed = p.managed;
    if (p.state !== undefined) set.state = p.state;
    if (p.enforcement) {
      const e = p.enforcement;
      Object.assign(set, {
        enf_state: e.state,
        enf_since: e.since,
        enf_reason: e.reason,
        grace_deadline: e.graceDeadline,
        unknown_reason: e.unknownReason,
        manual_frozen: e.manual !== null,
        manual_until: e.manual?.until ?? null,
        manual_reason: e.manual?.reason ?? null,
        desired_max_space: e.desired ? e.desired.maxSpace.toString() : null,
        desired_max_inodes: e.desired ? e.desired.maxInodes.toString() : null,
      });
    }
    if (p.bump) set.generation = this.db.raw('generation + 1');
    const [r] = (await this.db('directory_quotas').where({ tenant_id: tenantId, id }).update(set).returning('*')) as Record<string, unknown>[];
    return r ? fromRow(r) : undefined;
  }

  async recordApplied(tenantId: string, id: string, generation: bigint, observed: ObservedLimits | null, at: Date): Promise<boolean> {
    const n = await this.db('directory_quotas')
      .where({ tenant_id: tenantId, id })
      .andWhere('applied_generation', '<=', generation.toString())
      .update({ applied_generation: generation.toString(), observed: observedJson(observed), last_error: null, last_error_at: null, updated_at: at });
    return n > 0;
  }

  async recordApplyError(tenantId: string, id: string, error: string, at: Date): Promise<void> {
    await this.db('directory_quotas')
      .where({ tenant_id: tenantId, id })
      .update({ last_error: error.slice(0, 2000), last_error_at: at });
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    return (await this.db('directory_quotas').where({ tenant_id: tenantId, id }).delete()) > 0;
  }

  async enforceable(page: { afterId?: string; limit: number }): Promise<DirectoryQuota[]> {
    const q = this.db('directory_quotas')
      .where({ state: 'active', managed: true })
      .andWhere((w) => w.where({ native: true }).orWhereNotNull('soft_bytes').orWhereNotNull('soft_inodes'))
      .orderBy('id')
      .limit(page.limit);
    if (page.afterId) q.andWhere('id', '>', page.afterId);
    return ((await q) as Record<string, unknown>[]).map(fromRow);
  }

  async recordWalkUsage(tenantId: string, id: string, u: { bytes: bigint; inodes: bigint; at: Date }): Promise<void> {
    await this.db('directory_quotas').where({ tenant_id: tenantId, id }).update({ walk_bytes: u.bytes.toString(), walk_inodes: u.inodes.toString(), walk_at: u.at });
  }

  async recordSamples(samples: readonly NewDirectoryQuotaSample[]): Promise<number> {
    let written = 0;
    for (let i = 0; i < samples.length; i += 1000) {
      const part = samples.slice(i, i + 1000);
      // The join drops samples of quotas deleted since the read (or of another tenant); the
      // lateral read is the quota's latest raw sample, through the primary key.
      const r = await this.db.raw(
        `WITH input AS (
           SELECT * FROM unnest(?::text[], ?::text[], ?::timestamptz[], ?::bigint[], ?::bigint[]) AS t(quota_id, tenant_id, at, bytes, inodes)
         )
         INSERT INTO directory_quota_samples (quota_id, tenant_id, resolution, at, bytes, inodes)
         SELECT i.quota_id, i.tenant_id, 'raw', i.at, i.bytes, i.inodes
           FROM input i
           JOIN directory_quotas q ON q.id = i.quota_id AND q.tenant_id = i.tenant_id
           LEFT JOIN LATERAL (
             SELECT s.at, s.bytes, s.inodes FROM directory_quota_samples s
              WHERE s.quota_id = i.quota_id AND s.resolution = 'raw' ORDER BY s.at DESC LIMIT 1
           ) last ON true
          WHERE last.at IS NULL OR last.bytes <> i.bytes OR last.inodes <> i.inodes OR last.at < i.at - interval '1 hour'
         ON CONFLICT (quota_id, resolution, at) DO NOTHING`,
        [part.map((x) => x.quotaId), part.map((x) => x.tenantId), part.map((x) => x.at.toISOString()), part.map((x) => x.bytes.toString()), part.map((x) => x.inodes.toString())],
      );
      written += (r as { rowCount: number | null }).rowCount ?? 0;
    }
    return written;
  }

  async listSamples(tenantId: string, quotaId: string, w: { since: Date; until: Date; resolution?: Resolution }): Promise<DirectoryQuotaSample[]> {
    const q = this.db('directory_quota_samples').where({ tenant_id: tenantId, quota_id: quotaId }).where('at', '>=', w.since).where('at', '<', w.until).orderBy(['at', 'resolution']).limit(5000);
    if (w.resolution) q.andWhere({ resolution: w.resolution });
    return ((await q) as Record<string, unknown>[]).map((r) => ({ at: r.at as Date, bytes: r.bytes as bigint, inodes: r.inodes as bigint, resolution: r.resolution as Resolution }));
  }

  async downsampleSamples(now: Date): Promise<{ folded: number; pruned: number }> {
    const cut = downsampleCutoffs(now);
    const folded = (await this.fold('raw', 'hour', cut.rawBefore)) + (await this.fold('hour', 'day', cut.hourBefore));
    const pruned = await this.db('directory_quota_samples').where({ resolution: 'day' }).andWhere('at', '<', cut.dayBefore).delete();
    return { folded, pruned };
  }

  /**
   * Moves samples of one resolution older than `before` into maxima of the next one's buckets (UTC).
   * Re-folding into a bucket already there keeps the larger figures, so a rerun changes nothing.
   */
  private async fold(from: Resolution, to: 'hour' | 'day', before: Date): Promise<number> {
    const r = await this.db.raw(
      `WITH gone AS (
         DELETE FROM directory_quota_samples WHERE resolution = ? AND at < ? RETURNING quota_id, tenant_id, at, bytes, inodes
       )
       INSERT INTO directory_quota_samples AS s (quota_id, tenant_id, resolution, at, bytes, inodes)
       SELECT quota_id, tenant_id, ?, date_trunc(?::text, at, 'UTC'), max(bytes), max(inodes) FROM gone GROUP BY 1, 2, 4
       ON CONFLICT (quota_id, resolution, at) DO UPDATE
         SET bytes = GREATEST(s.bytes, EXCLUDED.bytes), inodes = GREATEST(s.inodes, EXCLUDED.inodes)`,
      [from, before, to, to],
    );
    return (r as { rowCount: number | null }).rowCount ?? 0;
  }

  async pending(limit: number): Promise<DirectoryQuota[]> {
    const rows = (await this.db('directory_quotas').whereRaw("applied_generation < generation OR state = 'deleting'").orderBy('id').limit(limit)) as Record<string, unknown>[];
    return rows.map(fromRow);
  }
}
