/** The in-memory insight store keeps the store contract. */
import { FakeInsightStore } from '../../../server/insights/fake-insight-store.js';
import { insightStoreContract } from './insight-store.contract.js';

const id = () => Math.random().toString(36).slice(2, 10);
insightStoreContract('fake', async () => ({ store: new FakeInsightStore(), prepare: async () => ({ tenantId: `t${id()}`, volumeId: `vol_${id()}`, walkIds: [`wlk_${id()}`, `wlk_${id()}`] }) }));
