/** The in-memory tenant store keeps the store contract. */
import { FakeTenantStore } from '../../../server/tenants/fake-tenant-store.js';
import { tenantStoreContract } from '../../contract/tenant-store.contract.js';

tenantStoreContract('in-memory fake', async () => {
  const store = new FakeTenantStore();
  return { store, auditActions: async (entityId) => store.audits.filter((a) => a.entityId === entityId).map((a) => a.action) };
});
