import { afterAll, beforeAll, describe, it } from 'vitest';
import { KnexLayerStore } from '../../server/enforcement/knex-layer-store.js';
import { insertVolume } from '../../server/volumes/volume-store.js';
import { layerStoreContract } from '../contract/layer-store.contract.js';
import { createTestDatabase, pgAvailable, type TestDatabase } from '../support/pg.js';

if (!pgAvailable()) describe.skip('LayerStore contract: PostgreSQL', () => it('needs PostgreSQL', () => {}));
else {
  let d: TestDatabase;
  let n = 0;
  beforeAll(async () => {
    d = await createTestDatabase(4);
    await d.db('tenants').insert({ id: 'acme', display_name: 'Acme', email: 'a@example.com' });
  });
  afterAll(async () => d?.drop());
  layerStoreContract('PostgreSQL (knex)', async () => ({
    store: new KnexLayerStore(d.db),
    // The table references volumes: each test gets real volume rows.
    volume: async () => {
      const id = `vol_layer_${++n}`;
      const name = id.replace(/_/g, '-');
      const quota = { softBytes: null, hardBytes: null, softInodes: null, hardInodes: null, graceSeconds: 0 };
      await d.db('volume_prefixes').insert({ prefix: name, volume_id: id }); // the never-reuse ledger
      await insertVolume(d.db, { id, tenantId: 'acme', name, prefix: name, engine: 'local', metaUrl: `local://x?prefix=${name}`, quota, requestHash: id });
      return { id, tenantId: 'acme' };
    },
  }));
}
