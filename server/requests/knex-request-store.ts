/** The PostgreSQL {@link RequestStore} over the `quota_requests` table. Row mapping stays private to this file. */
import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit-log.js';
import { inTransaction, type Db } from '../db/database.js';
import type { JsonLimits, NewRequest, QuotaRequest, RequestFilter, RequestPatch, RequestState, RequestStore, RequestUnitOfWork } from './request-store.js';

const fromRow = (r: Record<string, unknown>): QuotaRequest => ({
  id: r.id as string,
  volumeId: r.volume_id as string,
  directoryQuotaId: (r.directory_quota_id as string | null) ?? null,
  directoryPath: r.directory_path ? Buffer.from(r.directory_path as Buffer) : null,
  tenantId: r.tenant_id as string,
  requestedBy: r.requested_by as string,
  state: r.state as RequestState,
  reason: r.reason as string,
  requested: r.requested as JsonLimits,
  granted: (r.granted as JsonLimits | null) ?? null,
  previous: (r.previous as JsonLimits | null) ?? null,
  until: (r.until as Date | null) ?? null,
  ruleId: (r.rule_id as string | null) ?? null,
  explanation: r.explanation as string,
  decidedBy: (r.decided_by as string | null) ?? null,
  decidedAt: (r.decided_at as Date | null) ?? null,
  comment: (r.comment as string | null) ?? null,
  revertedAt: (r.reverted_at as Date | null) ?? null,
  createdAt: r.created_at as Date,
});

/** {@link RequestStore} over PostgreSQL; `db` is the pool or, inside `transaction`, the transaction. */
export class KnexRequestStore implements RequestStore {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: (uow: RequestUnitOfWork) => Promise<T>): Promise<T> {
    return inTransaction(this.db as Knex, (trx) => fn(this.joined(trx)));
  }

  joined(trx: Db): RequestUnitOfWork {
    return { trx, store: new KnexRequestStore(trx), audit: (actor, e) => recordAudit(trx, actor, e) };
  }

  async insert(r: NewRequest): Promise<QuotaRequest> {
    const rows = (await this.db('quota_requests')
      .insert({
        id: r.id,
        volume_id: r.volumeId,
        directory_quota_id: r.directoryQuotaId ?? null,
        directory_path: r.directoryPath ?? null,
        tenant_id: r.tenantId,
        requested_by: r.requestedBy,
        state: 'pending',
        reason: r.reason,
        requested: JSON.stringify(r.requested),
        until: r.until,
        explanation: r.explanation,
      })
      .returning('*')) as Record<string, unknown>[];
    return fromRow(rows[0]!);
  }

  async find(tenantIds: readonly string[] | undefined, id: string, opts: { forUpdate?: boolean } = {}): Promise<QuotaRequest | undefined> {
    const q = this.db('quota_requests').where({ id }).first();
    if (tenantIds) q.whereIn('tenant_id', [...tenantIds]);
    // NO KEY UPDATE: the row changes, its key never does, so foreign-key checks of inserts that
    // reference it (transitions, notices, requests) do not wait on it, and cannot deadlock with it.
    if (opts.forUpdate) q.forNoKeyUpdate();
    const r = (await q) as Record<string, unknown> | undefined;
    return r && fromRow(r);
  }

  async update(id: string, patch: RequestPatch): Promise<QuotaRequest> {
    const rows = (await this.db('quota_requests')
      .where({ id })
      .update({
        ...(patch.state ? { state: patch.state } : {}),
        ...(patch.granted !== undefined ? { granted: JSON.stringify(patch.granted) } : {}),
        ...(patch.previous !== undefined ? { previous: JSON.stringify(patch.previous) } : {}),
        ...(patch.until !== undefined ? { until: patch.until } : {}),
        ...(patch.ruleId !== undefined ? { rule_id: patch.ruleId } : {}),
        ...(patch.explanation !== undefined ? { explanation: patch.explanation } : {}),
        ...(patch.decidedBy !== undefined ? { decided_by: patch.decidedBy } : {}),
        ...(patch.comment !== undefined ? { comment: patch.comment } : {}),
        ...(patch.decided ? { decided_at: this.db.fn.now() } : {}),
        ...(patch.reverted ? { reverted_at: this.db.fn.now() } : {}),
      })
      .returning('*')) as Record<string, unknown>[];
    return fromRow(rows[0]!);
  }

  async list(f: RequestFilter): Promise<QuotaRequest[]> {
    const q = this.db('quota_requests').orderBy('id', 'desc').limit(f.limit);
    if (f.tenantIds) q.whereIn('tenant_id', [...f.tenantIds]);
    if (f.state) q.where({ state: f.state });
    if (f.volumeId) q.where({ volume_id: f.volumeId });
    if (f.beforeId) q.where('id', '<', f.beforeId);
    return ((await q) as Record<string, unknown>[]).map(fromRow);
  }

  async pending(volumeId: string, directoryQuotaId: string | null = null): Promise<QuotaRequest | undefined> {
    const r = (await this.ofTarget(volumeId, directoryQuotaId).where({ state: 'pending' }).first()) as Record<string, unknown> | undefined;
    return r && fromRow(r);
  }

  async lastAutoApproval(volumeId: string, directoryQuotaId: string | null = null): Promise<Date | null> {
    const r = (await this.ofTarget(volumeId, directoryQuotaId).where({ state: 'approved' }).whereNotNull('rule_id').max('decided_at as at').first()) as { at: Date | null } | undefined;
    return r?.at ?? null;
  }

  async dueGrants(now: Date, limit = 500): Promise<QuotaRequest[]> {
    const rows = (await this.db('quota_requests').where({ state: 'approved' }).whereNotNull('until').whereNull('reverted_at').where('until', '<=', now).orderBy('until').limit(limit)) as Record<
      string,
      unknown
    >[];
    return rows.map(fromRow);
  }

  /** Requests of one target: the volume's own quota (`directoryQuotaId` null) or one directory quota. */
  private ofTarget(volumeId: string, directoryQuotaId: string | null) {
    return directoryQuotaId === null
      ? this.db('quota_requests').where({ volume_id: volumeId }).whereNull('directory_quota_id')
      : this.db('quota_requests').where({ volume_id: volumeId, directory_quota_id: directoryQuotaId });
  }
}
