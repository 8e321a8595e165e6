/** The in-memory enforcement store keeps the store contract. */
import { FakeEnforcementStore } from '../../../server/enforcement/fake-enforcement-store.js';
import { enforcementStoreContract } from '../../contract/enforcement-store.contract.js';

enforcementStoreContract('in-memory fake', async () => {
  let n = 0;
  return { store: new FakeEnforcementStore(), volume: async () => ({ tenantId: 'acme', volumeId: `vol_${++n}` }) };
});
