/** The in-memory storage identity store keeps the store contract. */
import { FakeIdentityStore } from '../../../server/storage/fake-identity-store.js';
import { identityStoreContract } from '../../contract/identity-store.contract.js';

let n = 0;
identityStoreContract('in-memory fake', async () => {
  const store = new FakeIdentityStore();
  return {
    store,
    auditActions: async (entityId) => store.audits.filter((a) => a.entityId === entityId).map((a) => a.action),
    // No foreign keys in memory: any id will do.
    tenant: async () => `t${String(++n).padStart(6, '0')}`,
  };
});
