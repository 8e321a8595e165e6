import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { kvEngineContract } from './kv-engine.contract.js';
import { tkvVolumeContract } from './tkv-volume.contract.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'headroom-local-'));
kvEngineContract('local (SQLite)', async () => new LocalEngine(path.join(dir, 'contract.db')));
tkvVolumeContract(
  'local (SQLite)',
  async () => new LocalEngine(path.join(dir, 'tkv.db')),
  (n) => Buffer.from(n),
);

describe('local engine persistence', () => {
  it('keeps committed data across a reopen, and drops an uncommitted transaction', async () => {
    const file = path.join(dir, 'reopen.db');
    const a = new LocalEngine(file);
    await a.txn(async (t) => t.put(Buffer.from('k'), Buffer.from('v')));
    const pending = a.txn(async (t) => {
      t.put(Buffer.from('half'), Buffer.from('x'));
      await a.close(); // the process "dies" before commit
    });
    await expect(pending).rejects.toThrow();
    const b = new LocalEngine(file);
    expect(Buffer.from((await b.get(Buffer.from('k')))!).toString()).toBe('v');
    expect(await b.get(Buffer.from('half'))).toBeUndefined();
    await b.close();
  });
});
