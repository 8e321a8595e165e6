/** The in-memory volume store keeps the store contract. */
import { FakeVolumeStore } from '../../../server/volumes/fake-volume-store.js';
import { volumeStoreContract } from '../../contract/volume-store.contract.js';

volumeStoreContract('in-memory fake', async () => {
  const store = new FakeVolumeStore();
  let n = 0;
  return {
    store,
    auditActions: async (entityId) => store.audits.filter((a) => a.entityId === entityId).map((a) => a.action),
    tenant: async () => `t${++n}${Math.random().toString(36).slice(2, 8)}`,
  };
});
