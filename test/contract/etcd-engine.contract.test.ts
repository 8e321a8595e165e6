import { afterAll, beforeAll } from 'vitest';
import { EtcdEngine } from '../../server/engines/etcd/etcd-engine.js';
import { etcdAvailable, startEtcd, type TestEtcd } from '../support/etcd.js';
import { kvEngineContract } from './kv-engine.contract.js';
import { tkvVolumeContract } from './tkv-volume.contract.js';

const available = etcdAvailable();
let etcd: TestEtcd | undefined;
beforeAll(async () => {
  if (available) etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

kvEngineContract('etcd', async () => new EtcdEngine({ endpoints: [etcd!.endpoint] }), { skip: !available });
// etcd keeps the leading slash of the URL path in the prefix (juicefs-metadata.md §1.2).
tkvVolumeContract(
  'etcd',
  async () => new EtcdEngine({ endpoints: [etcd!.endpoint] }),
  (n) => Buffer.from(`/${n}`),
  { skip: !available },
);
