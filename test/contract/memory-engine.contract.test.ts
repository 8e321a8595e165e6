import { MemoryEngine } from '../../server/engines/memory/memory-engine.js';
import { kvEngineContract } from './kv-engine.contract.js';
import { tkvVolumeContract } from './tkv-volume.contract.js';

kvEngineContract('memory', async () => new MemoryEngine());
tkvVolumeContract(
  'memory',
  async () => new MemoryEngine(),
  (n) => Buffer.from(n),
);
