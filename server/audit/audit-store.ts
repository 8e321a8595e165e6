/** Reading the audit log (written through `audit-log.ts`, in each change's own transaction). */
import type { Db } from '../db/database.js';
import type { AuditInput } from './audit-log.js';

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
