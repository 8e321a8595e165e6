/** The in-memory rule store keeps the store contract. */
import { FakeRuleStore } from '../../../server/requests/fake-rule-store.js';
import { ruleStoreContract } from '../../contract/rule-store.contract.js';

ruleStoreContract('in-memory fake', async () => {
  const store = new FakeRuleStore();
  return { store, auditActions: async (entityId) => store.audits.filter((a) => a.entityId === entityId).map((a) => a.action) };
});
