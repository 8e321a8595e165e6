/** Tenant use cases: create (idempotent), read, list — each in one transaction. */
import type { Knex } from 'knex';
import { canSeeTenant, visibleTenants, type Principal } from '../auth/principal.js';
import { recordAudit, type Actor } from '../audit/audit-store.js';
import { inTransaction } from '../db/database.js';
import { errors } from '../http/errors.js';
import { findTenant, insertTenant, listTenants, type Tenant } from './tenant-store.js';

/** Input of {@link TenantService.create}. */
export interface CreateTenantInput {
  id: string;
  displayName: string;
  email: string;
}

/** Tenant use cases. */
export class TenantService {
  constructor(private readonly db: Knex) {}

  /**
   * Creates a tenant. Repeating the same request returns the existing tenant (`created: false`);
   * the same id with different details is a 409.
   */
  async create(actor: Actor, input: CreateTenantInput): Promise<{ tenant: Tenant; created: boolean }> {
    return inTransaction(this.db, async (trx) => {
      const inserted = await insertTenant(trx, input);
      if (inserted) {
        await recordAudit(trx, actor, {
          action: 'tenant.created',
          entityType: 'tenant',
          entityId: inserted.id,
          tenantId: inserted.id,
          before: null,
          after: { id: inserted.id, displayName: inserted.displayName, email: inserted.email },
        });
        return { tenant: inserted, created: true };
      }
      const existing = await findTenant(trx, input.id);
      if (existing && existing.displayName === input.displayName && existing.email === input.email) {
        return { tenant: existing, created: false };
      }
      throw errors.tenantExists(input.id);
    });
  }

  /** Reads a tenant the caller may see; others are reported as not found. */
  async get(principal: Principal, tenantId: string): Promise<Tenant> {
    const t = canSeeTenant(principal, tenantId) ? await findTenant(this.db, tenantId) : undefined;
    if (!t) throw errors.tenantNotFound(tenantId);
    return t;
  }

  /** Lists the tenants the caller may see. */
  async list(principal: Principal, page: { afterId?: string; limit: number }): Promise<Tenant[]> {
    return listTenants(this.db, { only: visibleTenants(principal), ...page });
  }
}
