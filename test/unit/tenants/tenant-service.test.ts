/** TenantService over the in-memory store: idempotent creation, who may change what, audit rows in the change's transaction. */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../../server/auth/principal.js';
import { FakeTenantStore } from '../../../server/tenants/fake-tenant-store.js';
import { TenantService, type CreateTenantInput } from '../../../server/tenants/tenant-service.js';
import { actor, admin, engineer, failAudits, rejectsWith } from '../../support/unit.js';

const platform: Principal = { sub: 'ci', role: 'platform', tenants: [] };
const acme: CreateTenantInput = { id: 'acme', displayName: 'Acme', email: 'ops@acme.example' };

describe('TenantService', () => {
  let store: FakeTenantStore;
  let service: TenantService;
  beforeEach(() => {
    store = new FakeTenantStore();
    service = new TenantService(store);
  });

  describe('create', () => {
    it('fills the defaults and audits the new tenant in the same transaction', async () => {
      const { tenant, created } = await service.create(actor, acme);
      expect(created).toBe(true);
      expect(tenant).toMatchObject({ id: 'acme', language: 'en', webhookUrl: null, tier: 'standard' });
      expect(store.audits).toEqual([
        {
          actor,
          action: 'tenant.created',
          entityType: 'tenant',
          entityId: 'acme',
          tenantId: 'acme',
          before: null,
          after: { id: 'acme', displayName: 'Acme', email: 'ops@acme.example', language: 'en', webhookUrl: null, tier: 'standard' },
        },
      ]);
    });

    it('answers a repeat of the same request with the existing tenant and writes nothing', async () => {
      const first = await service.create(actor, acme);
      // Defaults spelled out are the same request.
      const again = await service.create(actor, { ...acme, language: 'en', tier: 'standard' });
      expect(again).toEqual({ tenant: first.tenant, created: false });
      expect(store.audits).toHaveLength(1);
    });

    it('refuses the same id with different details (409 tenant_exists) and changes nothing', async () => {
      await service.create(actor, acme);
      await rejectsWith(service.create(actor, { ...acme, email: 'other@acme.example' }), 409, 'tenant_exists');
      await rejectsWith(service.create(actor, { ...acme, tier: 'gold' }), 409, 'tenant_exists');
      expect((await service.get(admin, 'acme')).email).toBe('ops@acme.example');
      expect(store.audits.map((a) => a.action)).toEqual(['tenant.created']);
    });

    it('writes no tenant when its audit row cannot be written', async () => {
      failAudits(store);
      await expect(service.create(actor, acme)).rejects.toThrow('audit log down');
      await rejectsWith(service.get(admin, 'acme'), 404, 'tenant_not_found');
    });
  });

  describe('update', () => {
    beforeEach(async () => {
      await service.create(actor, { ...acme, webhookUrl: 'https://hooks.acme.example/h' });
      store.audits = [];
    });

    it('changes the details and audits the images before and after', async () => {
      const after = await service.update(actor, engineer('acme'), 'acme', { displayName: 'Acme Ltd', language: 'zh' });
      expect(after).toMatchObject({ displayName: 'Acme Ltd', language: 'zh', email: 'ops@acme.example' });
      expect(store.audits).toHaveLength(1);
      expect(store.audits[0]).toMatchObject({
        action: 'tenant.updated',
        entityId: 'acme',
        tenantId: 'acme',
        before: { displayName: 'Acme', language: 'en', webhookUrl: 'https://hooks.acme.example/h' },
        after: { displayName: 'Acme Ltd', language: 'zh', webhookUrl: 'https://hooks.acme.example/h' },
      });
    });

    it('lets admins and the platform set the tier and remove the webhook', async () => {
      expect(await service.update(actor, admin, 'acme', { tier: 'gold' })).toMatchObject({ tier: 'gold' });
      expect(await service.update(actor, platform, 'acme', { webhookUrl: null })).toMatchObject({ webhookUrl: null });
      expect(store.audits.map((a) => a.action)).toEqual(['tenant.updated', 'tenant.updated']);
    });

    it("refuses an engineer the tenant's tier and webhook (403), and writes nothing", async () => {
      await rejectsWith(service.update(actor, engineer('acme'), 'acme', { tier: 'gold' }), 403, 'forbidden');
      await rejectsWith(service.update(actor, engineer('acme'), 'acme', { webhookUrl: 'http://10.0.0.1/' }), 403, 'forbidden');
      expect(await service.get(admin, 'acme')).toMatchObject({ tier: 'standard', webhookUrl: 'https://hooks.acme.example/h' });
      expect(store.audits).toEqual([]);
    });

    it("reports another tenant's or a missing tenant as not found (404)", async () => {
      await service.create(actor, { ...acme, id: 'globex' });
      store.audits = [];
      await rejectsWith(service.update(actor, engineer('acme'), 'globex', { displayName: 'Mine now' }), 404, 'tenant_not_found');
      await rejectsWith(service.update(actor, admin, 'nobody', { displayName: 'X' }), 404, 'tenant_not_found');
      expect((await service.get(admin, 'globex')).displayName).toBe('Acme');
      expect(store.audits).toEqual([]);
    });

    it('writes nothing for a patch that changes nothing', async () => {
      const t = await service.update(actor, admin, 'acme', { displayName: 'Acme', email: undefined });
      expect(t.displayName).toBe('Acme');
      expect(store.audits).toEqual([]);
    });

    it('rolls the change back when its audit row cannot be written', async () => {
      failAudits(store);
      await expect(service.update(actor, admin, 'acme', { displayName: 'Acme Ltd' })).rejects.toThrow('audit log down');
      expect((await service.get(admin, 'acme')).displayName).toBe('Acme');
    });
  });

  describe('get and list', () => {
    beforeEach(async () => {
      for (const id of ['globex', 'acme', 'initech']) await service.create(actor, { ...acme, id });
    });

    it("shows engineers only their own tenants, as 404 for the others'", async () => {
      expect((await service.get(engineer('acme'), 'acme')).id).toBe('acme');
      await rejectsWith(service.get(engineer('acme'), 'globex'), 404, 'tenant_not_found');
      await rejectsWith(service.get(admin, 'nobody'), 404, 'tenant_not_found');
      expect((await service.list(engineer('initech', 'acme'), { limit: 10 })).map((t) => t.id)).toEqual(['acme', 'initech']);
      expect((await service.list(engineer(), { limit: 10 })).map((t) => t.id)).toEqual([]);
    });

    it('pages every tenant by id for admins and the platform', async () => {
      expect((await service.list(admin, { limit: 2 })).map((t) => t.id)).toEqual(['acme', 'globex']);
      expect((await service.list(platform, { afterId: 'globex', limit: 2 })).map((t) => t.id)).toEqual(['initech']);
    });
  });
});
