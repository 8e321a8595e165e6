/**
 * The in-memory {@link AuditStore} of unit tests, with the writer's half: `record` appends a row
 * as `recordAudit` (audit-log.ts) does, numbered like the table's identity column. Passes
 * test/contract/audit-store.contract.ts.
 */
import type { Actor, AuditInput } from './audit-log.js';
import type { AuditEvent, AuditFilter, AuditStore } from './audit-store.js';

/** {@link AuditStore} in memory. */
export class FakeAuditStore implements AuditStore {
  private readonly rows: AuditEvent[] = [];
  private seq = 0n;
  /** The rows' clock (tests may move it). */
  now = () => new Date();

  /** Appends one row, stamped `now()` (or `at`). */
  async record(actor: Actor, e: AuditInput, at: Date = this.now()): Promise<void> {
    // Stored as JSONB: what comes back is what JSON keeps.
    const json = (o: object | null) => (o === null ? null : (JSON.parse(JSON.stringify(o)) as object));
    this.rows.push({
      id: String(++this.seq),
      at,
      actor: actor.sub,
      actorRole: actor.role,
      action: e.action,
      entityType: e.entityType,
      entityId: e.entityId,
      tenantId: e.tenantId,
      before: json(e.before),
      after: json(e.after),
      requestId: actor.requestId || null,
    });
  }

  async list(f: AuditFilter): Promise<AuditEvent[]> {
    return this.rows
      .filter(
        (r) =>
          (!f.tenantId || r.tenantId === f.tenantId) &&
          (!f.entityType || r.entityType === f.entityType) &&
          (!f.entityId || r.entityId === f.entityId) &&
          (!f.action || r.action === f.action) &&
          (!f.actor || r.actor === f.actor) &&
          (!f.since || r.at >= f.since) &&
          (!f.until || r.at < f.until) &&
          (f.beforeId === undefined || BigInt(r.id) < f.beforeId),
      )
      .reverse()
      .slice(0, f.limit)
      .map((r) => ({ ...r }));
  }
}
