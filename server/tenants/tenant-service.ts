/** Tenant use cases: create (idempotent), read, list — each in one transaction. */
import type { Knex } from 'knex';
import { canSeeTenant, visibleTenants, type Principal } from '../auth/principal.js';
import { recordAudit, type Actor } from '../audit/audit-log.js';
import { inTransaction } from '../db/database.js';
import { errors } from '../lib/errors.js';
import { findTenant, insertTenant, listTenants, updateTenant, type Tenant } from './tenant-store.js';

/** Input of {@link TenantService.create}. */
export interface CreateTenantInput {
  id: string;
  displayName: string;
  email: string;
  language?: 'en' | 'zh';
  webhookUrl?: string;
  tier?: string;
}

/** Input of {@link TenantService.update}; `webhookUrl: null` removes the webhook. */
export type UpdateTenantInput = Partial<Pick<Tenant, 'displayName' | 'email' | 'language' | 'webhookUrl' | 'tier'>>;

const auditImage = (t: Tenant) => ({ id: t.id, displayName: t.displayName, email: t.email, language: t.language, webhookUrl: t.webhookUrl, tier: t.tier });

/** Tenant use cases. */
export class TenantService {
  constructor(private readonly db: Knex) {}

  /**
   * Creates a tenant. Repeating the same request returns the existing tenant (`created: false`);
   * the same id with different details is a 409.
   */
  async create(actor: Actor, input: CreateTenantInput): Promise<{ tenant: Tenant; created: boolean }> {
    const full = { ...input, language: input.language ?? 'en', webhookUrl: input.webhookUrl ?? null, tier: input.tier ?? 'standard' };
    return inTransaction(this.db, async (trx) => {
      const inserted = await insertTenant(trx, full);
      if (inserted) {
        await recordAudit(trx, actor, {
          action: 'tenant.created',
          entityType: 'tenant',
          entityId: inserted.id,
          tenantId: inserted.id,
          before: null,
          after: auditImage(inserted),
        });
        return { tenant: inserted, created: true };
      }
      const existing = await findTenant(trx, input.id);
      const same = existing && (['displayName', 'email', 'language', 'webhookUrl', 'tier'] as const).every((k) => existing[k] === full[k]);
      if (existing && same) {
        return { tenant: existing, created: false };
      }
      throw errors.tenantExists(input.id);
    });
  }

  /** Changes contact details or notice preferences (admins, the platform, or the tenant's own engineers). */
  async update(actor: Actor, principal: Principal, tenantId: string, patch: UpdateTenantInput): Promise<Tenant> {
    if (!canSeeTenant(principal, tenantId)) throw errors.tenantNotFound(tenantId);
    // The tier decides which quota increases are granted automatically: not the tenant's to pick.
    if (patch.tier !== undefined && principal.role === 'engineer') throw errors.forbidden("only admins and the platform can change a tenant's tier");
    // Headroom POSTs to the webhook from inside the platform's network: letting tenants point it
    // anywhere would let them make it write to internal services (the filer accepts POSTed files).
    if (patch.webhookUrl !== undefined && principal.role === 'engineer') throw errors.forbidden("only admins and the platform can set a tenant's webhook");
    return inTransaction(this.db, async (trx) => {
      const before = await findTenant(trx, tenantId, { forUpdate: true });
      if (!before) throw errors.tenantNotFound(tenantId);
      // A PATCH that changes nothing writes nothing: no update, no audit row.
      const changes = (Object.keys(patch) as (keyof UpdateTenantInput)[]).filter((k) => patch[k] !== undefined && patch[k] !== before[k]);
      if (changes.length === 0) return before;
      const after = (await updateTenant(trx, tenantId, patch))!;
      await recordAudit(trx, actor, { action: 'tenant.updated', entityType: 'tenant', entityId: tenantId, tenantId, before: auditImage(before), after: auditImage(after) });
      return after;
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
