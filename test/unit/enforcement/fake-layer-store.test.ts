import { FakeLayerStore } from '../../../server/enforcement/fake-layer-store.js';
import { layerStoreContract } from '../../contract/layer-store.contract.js';

let n = 0;
layerStoreContract('in-memory fake', async () => ({ store: new FakeLayerStore(), volume: async () => ({ id: `vol_${++n}`, tenantId: 'acme' }) }));
