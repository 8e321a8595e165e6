/** Tenant use cases: create (idempotent), change, read, list; each change in one transaction with its audit row. */
import { canSeeTenant, visibleTenants, type Principal } from '../auth/principal.js';
import type { Actor } from '../audit/audit-log.js';
import { errors } from '../lib/errors.js';
import type { Tenant, TenantPatch, TenantStore } from './tenant-store.js';

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
export type UpdateTenantInput = TenantPatch;

const auditImage = (t: Tenant) => ({ id: t.id, displayName: t.displayName, email: t.email, language: t.language, webhookUrl: t.webhookUrl, tier: t.tier });

/** Tenant use cases. */
export class TenantService {
  constructor(private readonly store: TenantStore) {}

  /**
   * Creates a tenant. Repeating the same request returns the existing tenant (`created: false`);
   * the same id with different details is a 409.
   */
  async create(actor: Actor, input: CreateTenantInput): Promise<{ tenant: Tenant; created: boolean }> {
    const full = { ...input, language: input.language ?? 'en', webhookUrl: input.webhookUrl ?? null, tier: input.tier ?? 'standard' };
    return this.store.transaction(async ({ store, audit }) => {
      const inserted = await store.insert(full);
      if (inserted) {
        await audit(actor, { action: 'tenant.created', entityType: 'tenant', entityId: inserted.id, tenantId: inserted.id, before: null, after: auditImage(inserted) });
        return { tenant: inserted, created: true };
      }
      const existing = await store.find(input.id);
      const same = existing && (['displayName', 'email', 'language', 'webhookUrl', 'tier'] as const).every((k) => existing[k] === full[k]);
      if (existing && same) return { tenant: existing, created: false };
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
    return this.store.transaction(async ({ store, audit }) => {
      const before = await store.find(tenantId, { forUpdate: true });
      if (!before) throw errors.tenantNotFound(tenantId);
      // A PATCH that changes nothing writes nothing: no update, no audit row.
      const changes = (Object.keys(patch) as (keyof UpdateTenantInput)[]).filter((k) => patch[k] !== undefined && patch[k] !== before[k]);
      if (changes.length === 0) return before;
      const after = (await store.update(tenantId, patch))!;
      await audit(actor, { action: 'tenant.updated', entityType: 'tenant', entityId: tenantId, tenantId, before: auditImage(before), after: auditImage(after) });
      return after;
    });
  }

  /** Reads a tenant the caller may see; others are reported as not found. */
  async get(principal: Principal, tenantId: string): Promise<Tenant> {
    const t = canSeeTenant(principal, tenantId) ? await this.store.find(tenantId) : undefined;
    if (!t) throw errors.tenantNotFound(tenantId);
    return t;
  }

  /** Lists the tenants the caller may see. */
  async list(principal: Principal, page: { afterId?: string; limit: number }): Promise<Tenant[]> {
    return this.store.list({ only: visibleTenants(principal), ...page });
  }
}
