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

/**
 * What an audit row can be about; `entityId` is that entity's id (a directory quota's `dq_…`, a
 * channel's `chn_…`), and `tenantId` its tenant, so a tenant's log includes them. The spec's
 * `entityType` filter lists the same (a unit test holds them together).
 */
export const AUDIT_ENTITY_TYPES = ['tenant', 'volume', 'walk', 'enforcement', 'notification_template', 'job', 'quota_request', 'quota_rule', 'insight_rule', 'directory_quota', 'channel'] as const;
/** One of {@link AUDIT_ENTITY_TYPES}. */
export type AuditEntityType = (typeof AUDIT_ENTITY_TYPES)[number];

/** One audit row as written. */
export interface AuditInput {
  action: string;
  entityType: AuditEntityType;
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
