/**
 * Reading the audit log (`audit_events`; rows are written through `audit-log.ts`, in each
 * change's own transaction). `KnexAuditStore` implements it over PostgreSQL and `FakeAuditStore`
 * in memory; both pass test/contract/audit-store.contract.ts.
 */
import type { AuditInput } from './audit-log.js';

/** One audit row as read. */
export interface AuditEvent extends AuditInput {
  /** The row's serial number as a decimal string: newer rows have larger ids. */
  id: string;
  at: Date;
  actor: string;
  actorRole: string;
  requestId: string | null;
}

/** Filters of {@link AuditStore.list}; results are newest first, `beforeId` pages backwards. */
export interface AuditFilter {
  tenantId?: string;
  entityType?: AuditInput['entityType'];
  entityId?: string;
  action?: string;
  actor?: string;
  /** Rows at or after this instant. */
  since?: Date;
  /** Rows strictly before this instant. */
  until?: Date;
  beforeId?: bigint;
  limit: number;
}

/** The audit log's reading side. */
export interface AuditStore {
  /** A page of audit rows matching `f`, newest (largest id) first. */
  list(f: AuditFilter): Promise<AuditEvent[]>;
}
