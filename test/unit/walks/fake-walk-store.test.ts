/** The in-memory walk store keeps the store contract. */
import { FakeWalkStore } from '../../../server/walks/fake-walk-store.js';
import { walkStoreContract } from '../../contract/walk-store.contract.js';

walkStoreContract('in-memory fake', async () => {
  const store = new FakeWalkStore();
  // Walks finished one after another finish at increasing instants, as in PostgreSQL.
  let t = Date.parse('2026-12-01T00:00:00Z');
  store.now = () => new Date((t += 1000));
  let n = 0;
  return {
    store,
    auditActions: async (entityId) => store.audits.filter((a) => a.entityId === entityId).map((a) => a.action),
    volume: async () => ({ tenantId: `t${Math.random().toString(36).slice(2, 8)}`, volumeId: `vol_fake${++n}` }),
  };
});
