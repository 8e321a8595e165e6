import { FakeDirectoryQuotaStore } from '../../../server/directory-quotas/fake-directory-quota-store.js';
import { directoryQuotaStoreContract } from '../../contract/directory-quota-store.contract.js';

let n = 0;
directoryQuotaStoreContract('in-memory fake', async () => {
  const store = new FakeDirectoryQuotaStore();
  return {
    store,
    volume: async () => ({ id: `vol_fake_${++n}`, tenantId: 'acme' }),
    auditActions: async (volumeId) => store.audits.filter((a) => a.entityId === volumeId).map((a) => a.action),
  };
});
