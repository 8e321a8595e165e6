/**
 * The audit log: who changed what, when, with the before and after images. Writers call
 * {@link recordAudit} with the same transaction as the change, so a change and its audit row
 * commit or roll back together.
 */
import type { Db } from '../db/database.js';

/** The caller of a state change. */
export interface Actor {
  sub: string;
  role: string;
  requestId?: string;
}

/** One audit row as written. */
export interface AuditInput {
  action: string;
  entityType: 'tenant' | 'volume' | 'scan' | 'enforcement' | 'notification_template' | 'job' | 'quota_request' | 'quota_rule';
  entityId: string;
  tenantId: string | null;
  before: object | null;
  after: object | null;
}

/** One audit row as read. */
export interface AuditEvent extends AuditInput {
  id: string;
  at: Date;
  actor: string;
  actorRole: string;
  requestId: string | null;
}

/** Filters for {@link listAudit}; results are newest first, `beforeId` pages backwards. */
export interface AuditFilter {
  tenantId?: string;
  entityType?: string;
  entityId?: string;
  action?: string;
  actor?: string;
  since?: Date;
  until?: Date;
  beforeId?: bigint;
  limit: number;
}

/** Appends one audit row inside the caller's transaction. */
export async function recordAudit(db: Db, actor: Actor, e: AuditInput): Promise<void> {
  await db('audit_events').insert({
    actor_sub: actor.sub,
    actor_role: actor.role,
    action: e.action,
    entity_type: e.entityType,
    entity_id: e.entityId,
    tenant_id: e.tenantId,
    before: e.before === null ? null : JSON.stringify(e.before),
    after: e.after === null ? null : JSON.stringify(e.after),
    request_id: actor.requestId || null,
  });
}

/** Reads a page of audit rows matching `f`. */
export async function listAudit(db: Db, f: AuditFilter): Promise<AuditEvent[]> {
  const q = db('audit_events').select('*').orderBy('id', 'desc').limit(f.limit);
  if (f.tenantId) q.where('tenant_id', f.tenantId);
  if (f.entityType) q.where('entity_type', f.entityType);
  if (f.entityId) q.where('entity_id', f.entityId);
  if (f.action) q.where('action', f.action);
  if (f.actor) q.where('actor_sub', f.actor);
  if (f.since) q.where('at', '>=', f.since);
  if (f.until) q.where('at', '<', f.until);
  if (f.beforeId !== undefined) q.where('id', '<', f.beforeId.toString());
  const rows = (await q) as Record<string, unknown>[];
  return rows.map((r) => ({
    id: String(r.id),
    at: r.at as Date,
    actor: r.actor_sub as string,
    actorRole: r.actor_role as string,
    action: r.action as string,
    entityType: r.entity_type as AuditInput['entityType'],
    entityId: r.entity_id as string,
    tenantId: (r.tenant_id as string | null) ?? null,
    before: (r.before as object | null) ?? null,
    after: (r.after as object | null) ?? null,
    requestId: (r.request_id as string | null) ?? null,
  }));
}
