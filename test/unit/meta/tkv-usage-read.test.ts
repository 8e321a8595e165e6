/** Batched counter reads on the TKV layout: cached keys per handle, and empty told from vanished. */
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../../server/engines/memory/memory-engine.js';
import { EngineRegistry } from '../../../server/meta/engine-registry.js';
import { JuiceFsMetadata } from '../../../server/meta/juicefs-metadata.js';
import { encodeCounter } from '../../../server/meta/tkv/records.js';
import type { VolumeRef } from '../../../server/meta/volume-metadata.js';

const ref = (prefix: string): VolumeRef => ({ id: `vol_${prefix}`, metaUrl: `local:///m.db?prefix=${prefix}`, prefix, quota: { hardBytes: null, hardInodes: null } });

describe('JuiceFsMetadata.readUsageMany on TKV', () => {
  it('reads counters, zero for a formatted untouched volume, and an error for one whose keys are gone', async () => {
    const engine = new MemoryEngine();
    const meta = new JuiceFsMetadata(new EngineRegistry({ local: () => engine }), { objectsDir: '/tmp/objects', trashDays: 1, version: '1.1' });
    const [used, fresh, gone] = [ref('used'), ref('fresh'), ref('gone')];
    for (const v of [used, fresh, gone]) await meta.provision(v);
    const h = meta.volume(used.metaUrl);
    await engine.txn(async (t) => {
      t.put(h.usageKeys.used, encodeCounter(5000n));
      t.put(h.usageKeys.inodes, encodeCounter(7n));
    });
    await meta.purge(gone);
    for (let pass = 0; pass < 2; pass++) {
      const got = await meta.readUsageMany([used, fresh, gone]);
      expect(got.get(used.id)).toEqual({ usedBytes: 5000n, usedInodes: 7n });
      expect(got.get(fresh.id)).toEqual({ usedBytes: 0n, usedInodes: 0n });
      expect((got.get(gone.id) as Error).message).toMatch(/metadata is missing/);
    }
    // The handle (and its keys) is built once per meta URL.
    expect(meta.volume(used.metaUrl).usageKeys).toBe(h.usageKeys);
    expect(h.usageKeys.used.toString('latin1')).toBe('used\xfdCusedSpace');
  });
});
