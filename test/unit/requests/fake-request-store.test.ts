/** The in-memory request store keeps the store contract. */
import { FakeRequestStore } from '../../../server/requests/fake-request-store.js';
import { requestStoreContract } from '../../contract/request-store.contract.js';

requestStoreContract('in-memory fake', async () => {
  const store = new FakeRequestStore();
  let n = 0;
  return {
    store,
    auditActions: async (entityId) => store.audits.filter((a) => a.entityId === entityId).map((a) => a.action),
    volume: async () => ({ tenantId: `t${Math.random().toString(36).slice(2, 8)}`, volumeId: `vol_fake${++n}` }),
  };
});
