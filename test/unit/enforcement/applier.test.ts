/**
 * The applier over in-memory fakes (the layer store's fake passes the same contract suite as the
 * PostgreSQL store): it carries desired state out, never leaves an older generation over a newer
 * one, even when two instances race, and retries failures with backoff.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Applier } from '../../../server/enforcement/applier.js';
import { initialState, type StateRow } from '../../../server/enforcement/enforcement-store.js';
import { FakeLayerStore } from '../../../server/enforcement/fake-layer-store.js';
import { layerKey } from '../../../server/enforcement/layer-store.js';
import type { Volume } from '../../../server/volumes/volume.js';

const log = pino({ level: 'silent' });
const volume: Volume = {
  id: 'vol_1',
  tenantId: 'acme',
  name: 'data',
  prefix: 'acme-data',
  engine: 'etcd',
  metaUrl: 'etcd://127.0.0.1:2379/acme-data',
  state: 'active',
  stateDetail: null,
  quota: { softBytes: null, hardBytes: 1000n, softInodes: null, hardInodes: null, graceSeconds: 0 },
  storage: { kind: 'file', bucket: null },
  requestHash: 'x',
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

/** A JuiceFS setting that can be held up mid-write or made to fail, recording every write. */
class FakeSetting {
  capacity = 1000n;
  writes: bigint[] = [];
  failNext = 0;
  private gates: (() => void)[] = [];
  hold = false;

  async setLimits(_v: unknown, l: { capacity: bigint; inodes: bigint }): Promise<{ changed: boolean }> {
    if (this.failNext > 0 && this.failNext--) throw new Error('engine refused');
    if (this.hold) await new Promise<void>((r) => this.gates.push(r));
    const changed = this.capacity !== l.capacity;
    this.capacity = l.capacity;
    this.writes.push(l.capacity);
    return { changed };
  }

  release(): void {
    this.hold = false;
    for (const g of this.gates.splice(0)) g();
  }
}

function setup() {
  const layers = new FakeLayerStore();
  const setting = new FakeSetting();
  let state: StateRow = { ...initialState(volume.id, volume.tenantId, new Date(0)), desiredCapacity: 1000n, desiredInodes: 0n };
  const desire = (capacity: bigint) => (state = { ...state, desiredCapacity: capacity, metadataGeneration: state.metadataGeneration + 1n });
  const make = (backoffMs = 1000) => new Applier({ log, layers, desired: async () => state, metadata: setting, volumes: { find: async () => volume }, backoffMs });
  return { layers, setting, desire, make, row: () => layers.rows.get(layerKey(volume.id, 'metadata')) };
}

describe('Applier', () => {
  afterEach(() => vi.useRealTimers());

  it('writes the desired limits once per generation and records what it applied', async () => {
    const { setting, desire, make, row } = setup();
    const a = make();
    expect(await a.apply(volume.id)).toEqual({ wrote: [], failed: [] }); // generation 0 is onboarding's own
    desire(400n);
    expect(await a.apply(volume.id)).toEqual({ wrote: ['metadata'], failed: [] });
    expect(await a.apply(volume.id)).toEqual({ wrote: [], failed: [] }); // nothing new to do
    expect(setting.writes).toEqual([400n]);
    expect(row()).toMatchObject({ appliedGeneration: 1n, observed: { capacity: '400', inodes: '0' } });
    expect(await a.apply(volume.id, ['metadata'])).toEqual({ wrote: [], failed: [] }); // a forced rewrite of the same value
    expect(setting.writes).toEqual([400n, 400n]);
  });

  it('never leaves an older generation over a newer one when two instances race', async () => {
    const { setting, desire, make, row } = setup();
    const first = make();
    const second = make();
    desire(400n); // generation 1
    setting.hold = true;
    const slow = first.apply(volume.id); // reads generation 1, then stalls inside the engine write
    await new Promise((r) => setTimeout(r, 10));
    desire(300n); // generation 2, committed by another decision meanwhile
    setting.release();
    await second.apply(volume.id); // another instance carries generation 2 out
    await slow; // the stalled write of generation 1 lands late, then is put right
    expect(setting.capacity).toBe(300n);
    expect(setting.writes.at(-1)).toBe(300n);
    expect(row()).toMatchObject({ appliedGeneration: 2n, observed: { capacity: '300', inodes: '0' } });
  });

  it('queues calls for one volume; each reads the desired state when its turn comes, so a superseded one is never written', async () => {
    const { setting, desire, make } = setup();
    const a = make();
    desire(400n);
    setting.hold = true;
    const one = a.apply(volume.id);
    desire(300n);
    const two = a.apply(volume.id);
    setting.release();
    await Promise.all([one, two]);
    expect(setting.writes).toEqual([300n]); // 400 was superseded before the first call's turn
  });

  it('records a failure with its backoff, and its own timer retries until it lands', async () => {
    vi.useFakeTimers({ now: 0 });
    const { setting, desire, make, row } = setup();
    const a = make(1000);
    desire(400n);
    setting.failNext = 2;
    expect((await a.apply(volume.id)).failed).toEqual([{ layer: 'metadata', error: 'engine refused' }]);
    expect(row()).toMatchObject({ attempts: 1, lastError: 'engine refused', retryAt: new Date(1000), appliedGeneration: 0n });
    await vi.advanceTimersByTimeAsync(1000); // first retry: fails again, next in 2 s
    expect(row()).toMatchObject({ attempts: 2, retryAt: new Date(1000 + 2000) });
    await vi.advanceTimersByTimeAsync(2000); // second retry lands
    expect(row()).toMatchObject({ attempts: 0, lastError: null, appliedGeneration: 1n });
    expect(setting.capacity).toBe(400n);
    await a.close();
  });
});
