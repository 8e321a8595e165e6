/** The PostgreSQL {@link AuditStore} over the `audit_events` table. Row mapping stays private to this file. */
import type { Db } from '../db/database.js';
import type { AuditInput } from './audit-log.js';
import type { AuditEvent, AuditFilter, AuditStore } from './audit-store.js';

const fromRow = (r: Record<string, unknown>): AuditEvent => ({
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
});

/** {@link AuditStore} over PostgreSQL. */
export class KnexAuditStore implements AuditStore {
  constructor(private readonly db: Db) {}

  async list(f: AuditFilter): Promise<AuditEvent[]> {
    const q = this.db('audit_events').select('*').orderBy('id', 'desc').limit(f.limit);
    if (f.tenantId) q.where('tenant_id', f.tenantId);
    if (f.entityType) q.where('entity_type', f.entityType);
    if (f.entityId) q.where('entity_id', f.entityId);
    if (f.action) q.where('action', f.action);
    if (f.actor) q.where('actor_sub', f.actor);
    if (f.since) q.where('at', '>=', f.since);
    if (f.until) q.where('at', '<', f.until);
    if (f.beforeId !== undefined) q.where('id', '<', f.beforeId.toString());
    return ((await q) as Record<string, unknown>[]).map(fromRow);
  }
}
