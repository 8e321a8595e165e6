/**
 * The audit log's writing side: who changed what, with the before and after images. Every
 * feature records its changes here, in the same transaction as the change, so a change and its
 * audit row commit or roll back together. (Reading the log is the audit store's job.)
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
  entityType: 'tenant' | 'volume' | 'walk' | 'enforcement' | 'notification_template' | 'job' | 'quota_request' | 'quota_rule' | 'insight_rule';
  entityId: string;
  tenantId: string | null;
  before: object | null;
  after: object | null;
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
