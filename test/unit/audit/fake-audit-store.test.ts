/** The in-memory audit store keeps the store contract. */
import { FakeAuditStore } from '../../../server/audit/fake-audit-store.js';
import { auditStoreContract } from '../../contract/audit-store.contract.js';

auditStoreContract('in-memory fake', async () => {
  const store = new FakeAuditStore();
  return { store, record: (actor, e, at) => store.record(actor, e, at) };
});
