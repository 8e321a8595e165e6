/** The in-memory notification store keeps the store contract. */
import { FakeNotificationStore } from '../../../server/notifications/fake-notification-store.js';
import { notificationStoreContract } from '../../contract/notification-store.contract.js';

let n = 0;
notificationStoreContract('in-memory fake', async () => {
  const store = new FakeNotificationStore();
  return {
    store,
    auditActions: async (entityId) => store.audits.filter((a) => a.entityId === entityId).map((a) => a.action),
    // No foreign keys in memory: any ids will do.
    volume: async () => ({ tenantId: `t${++n}`, volumeId: `vol_t${n}` }),
  };
});
