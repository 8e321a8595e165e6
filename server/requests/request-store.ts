/** PostgreSQL store for quota requests. Tenant-scoped reads take `tenantIds` (undefined = all). */
import type { Db } from '../db/database.js';

/** Request states. */
export type RequestState = 'pending' | 'approved' | 'denied' | 'cancelled';

/** Limits as stored in JSON (decimal strings; absent = not asked / unchanged; null = unlimited). */
export type JsonLimits = Partial<Record<'softBytes' | 'hardBytes' | 'softInodes' | 'hardInodes', string | null>>;

/** One quota request. */
export interface QuotaRequest {
  id: string;
  volumeId: string;
  /** The directory quota asked about; null for the volume's own quota. */
  directoryQuotaId: string | null;
  /** The directory's bytes when the request was filed; null for a volume request. */
  directoryPath: Buffer | null;
  tenantId: string;
  requestedBy: string;
  state: RequestState;
  reason: string;
  requested: JsonLimits;
  granted: JsonLimits | null;
  previous: JsonLimits | null;
  until: Date | null;
  ruleId: string | null;
  explanation: string;
  decidedBy: string | null;
  decidedAt: Date | null;
  comment: string | null;
  revertedAt: Date | null;
  createdAt: Date;
}

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

/**
 * Inserts a pending request; partial unique indexes refuse a second pending one per volume
 * (`quota_requests_one_pending`) or per directory quota (`quota_requests_one_pending_directory`).
 */
export async function insertRequest(
  db: Db,
  r: Pick<QuotaRequest, 'id' | 'volumeId' | 'tenantId' | 'requestedBy' | 'reason' | 'requested' | 'until' | 'explanation'> & Partial<Pick<QuotaRequest, 'directoryQuotaId' | 'directoryPath'>>,
): Promise<QuotaRequest> {
  const rows = (await db('quota_requests')
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

/** One request of a visible tenant, optionally locked for update. */
export async function findRequest(db: Db, tenantIds: readonly string[] | undefined, id: string, opts: { forUpdate?: boolean } = {}): Promise<QuotaRequest | undefined> {
  const q = db('quota_requests').where({ id }).first();
  if (tenantIds) q.whereIn('tenant_id', [...tenantIds]);
  // NO KEY UPDATE: the row changes, its key never does, so foreign-key checks of inserts that
  // reference it (transitions, notices, requests) do not wait on it, and cannot deadlock with it.
  if (opts.forUpdate) q.forNoKeyUpdate();
  const r = (await q) as Record<string, unknown> | undefined;
  return r && fromRow(r);
}

/** Updates a request's decision fields and returns the new image. */
export async function updateRequest(
  db: Db,
  id: string,
  patch: Partial<Pick<QuotaRequest, 'state' | 'granted' | 'previous' | 'until' | 'ruleId' | 'explanation' | 'decidedBy' | 'comment'>> & { decided?: boolean; reverted?: boolean },
): Promise<QuotaRequest> {
  const rows = (await db('quota_requests')
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
      ...(patch.decided ? { decided_at: db.fn.now() } : {}),
      ...(patch.reverted ? { reverted_at: db.fn.now() } : {}),
    })
    .returning('*')) as Record<string, unknown>[];
  return fromRow(rows[0]!);
}

/** Filters of {@link listRequests}; newest first, `beforeId` pages backwards. */
export interface RequestFilter {
  tenantIds?: readonly string[];
  state?: RequestState;
  volumeId?: string;
  beforeId?: string;
  limit: number;
}

/** A page of requests. */
export async function listRequests(db: Db, f: RequestFilter): Promise<QuotaRequest[]> {
  const q = db('quota_requests').orderBy('id', 'desc').limit(f.limit);
  if (f.tenantIds) q.whereIn('tenant_id', [...f.tenantIds]);
  if (f.state) q.where({ state: f.state });
  if (f.volumeId) q.where({ volume_id: f.volumeId });
  if (f.beforeId) q.where('id', '<', f.beforeId);
  return ((await q) as Record<string, unknown>[]).map(fromRow);
}

/** Requests of one target: the volume's own quota (`directoryQuotaId` null) or one directory quota. */
const ofTarget = (db: Db, volumeId: string, directoryQuotaId: string | null) =>
  directoryQuotaId === null
    ? db('quota_requests').where({ volume_id: volumeId }).whereNull('directory_quota_id')
    : db('quota_requests').where({ volume_id: volumeId, directory_quota_id: directoryQuotaId });

/** The pending request of the volume's own quota (or, with `directoryQuotaId`, of that directory quota), if any. */
export async function pendingRequest(db: Db, volumeId: string, directoryQuotaId: string | null = null): Promise<QuotaRequest | undefined> {
  const r = (await ofTarget(db, volumeId, directoryQuotaId).where({ state: 'pending' }).first()) as Record<string, unknown> | undefined;
  return r && fromRow(r);
}

/** When this volume (or directory quota) last had a request granted by a rule (for "once in N days" rules). */
export async function lastAutoApproval(db: Db, volumeId: string, directoryQuotaId: string | null = null): Promise<Date | null> {
  const r = (await ofTarget(db, volumeId, directoryQuotaId).where({ state: 'approved' }).whereNotNull('rule_id').max('decided_at as at').first()) as { at: Date | null } | undefined;
  return r?.at ?? null;
}

/** Approved temporary grants whose time is up and that were not reverted yet. */
export async function dueGrants(db: Db, now: Date, limit = 500): Promise<QuotaRequest[]> {
  const rows = (await db('quota_requests').where({ state: 'approved' }).whereNotNull('until').whereNull('reverted_at').where('until', '<=', now).orderBy('until').limit(limit)) as Record<
    string,
    unknown
  >[];
  return rows.map(fromRow);
}
