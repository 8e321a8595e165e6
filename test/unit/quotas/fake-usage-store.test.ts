/** The in-memory usage store keeps the store contract. */
import { FakeUsageStore } from '../../../server/quotas/fake-usage-store.js';
import { usageStoreContract } from '../../contract/usage-store.contract.js';

usageStoreContract('in-memory fake', async () => {
  const store = new FakeUsageStore();
  return {
    store,
    volume: async (volumeId, bucket) => void store.volumes.set(volumeId, { active: true, bucket: bucket ?? null }),
    deactivate: async (volumeId) => void store.volumes.set(volumeId, { ...store.volumes.get(volumeId)!, active: false }),
  };
});
