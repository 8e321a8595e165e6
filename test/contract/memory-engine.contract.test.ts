import { MemoryEngine } from '../../server/engines/memory/memory-engine.js';
import { kvEngineContract } from './kv-engine.contract.js';

kvEngineContract('memory', async () => new MemoryEngine());
