/**
 * Directory quota history over the fake store: which samples a pass keeps (the real TKV quota
 * records on the in-memory engine), how forecasts per limit are drawn, and which points a
 * forecast's trend is drawn through (the window, the fresh reading, a walk's figures).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { DirectoryQuotaEnforcer } from '../../../server/directory-quotas/directory-quota-enforcer.js';
import { DirectoryQuotaHistory, forecastLimits } from '../../../server/directory-quotas/directory-quota-history.js';
import type { GrantUsage } from '../../../server/directory-quotas/directory-quota.js';
import { FakeDirectoryQuotaStore } from '../../../server/directory-quotas/fake-directory-quota-store.js';
import type { TkvVolume } from '../../../server/meta/tkv/tkv-volume.js';
import type { Volume } from '../../../server/volumes/volume.js';
import { directoryQuotaEnforcerFixture, type DirectoryQuotaEnforcerFixture } from '../../support/unit.js';

const HOUR = 3_600_000;
const t0 = Date.UTC(2026, 11, 1);
const at = (hours: number) => new Date(t0 + hours * HOUR);
const noLimits = { softBytes: null, hardBytes: null, softInodes: null, hardInodes: null, graceSeconds: 0 };
const volume = { id: 'vol_1', tenantId: 'acme', metaUrl: 'mem://team', prefix: 'team', state: 'active', quota: { ...noLimits } } as unknown as Volume;
const engineer = { sub: 'alice', role: 'engineer' as const, tenants: ['acme'] };

const newQuota = (o: Partial<Parameters<FakeDirectoryQuotaStore['insert']>[0]> = {}) => ({
  id: 'dq_1',
  tenantId: 'acme',
  volumeId: volume.id,
  path: Buffer.from('/alice'),
  inode: 2n,
  quota: noLimits,
  ownerSub: 'alice',
  managed: true,
  native: true,
  ...o,
});

describe('forecastLimits', () => {
  const series = [0, 6, 12].map((h, i) => ({ at: at(h), bytes: BigInt(100 + 100 * i), inodes: 1n }));

  it('forecasts the soft limit only while usage is under it, the hard one even when reached', () => {
    const now = at(12);
    const under = forecastLimits(series, 400n, 500n, now);
    expect(under.soft).toMatchObject({ bytesPerDay: 400, secondsToFull: 6 * 3600, samples: 3 });
    expect(under.hard).toMatchObject({ bytesPerDay: 400, secondsToFull: 12 * 3600 });
    const past = forecastLimits(series, 300n, 300n, now);
    expect(past.soft).toBeNull(); // at the soft limit: its grace, not a forecast, is what counts
    expect(past.hard).toMatchObject({ fullAt: now, secondsToFull: 0 });
    expect(forecastLimits(series, null, null, now)).toEqual({ soft: null, hard: null });
  });
});

describe('DirectoryQuotaHistory', () => {
  let store: FakeDirectoryQuotaStore;
  let now: Date;
  let usage: GrantUsage | null;
  let history: DirectoryQuotaHistory;

  beforeEach(() => {
    store = new FakeDirectoryQuotaStore();
    now = at(12);
    usage = null;
    history = new DirectoryQuotaHistory({
      store,
      volumes: { get: async () => volume },
      quotas: { visibleQuota: async (_p, v, id) => (await store.find(v.tenantId, id))!, usageOf: async () => usage },
      forecastWindowDays: 1,
      clock: () => now,
    });
  });
  const sample = (h: number, bytes: bigint, inodes = 1n) => ({ quotaId: 'dq_1', tenantId: 'acme', at: at(h), bytes, inodes });

  it('draws the trend through the window and the reading now, when that one is newer', async () => {
    await store.insert(newQuota({ quota: { ...noLimits, hardBytes: 1000n, hardInodes: 50n } }));
    await store.recordSamples([sample(-30, 1n), sample(0, 100n), sample(6, 200n, 5n)]);
    const stored = await history.forecast(engineer, volume.id, 'dq_1');
    // The sample 30 h back is out of the one-day window; the reading now could not be taken.
    expect(stored.bytes.hard).toMatchObject({ bytesPerDay: 400, samples: 2 });
    expect(stored.inodes.hard).toMatchObject({ bytesPerDay: 16, samples: 2 });
    expect(stored.usage).toEqual({ at: at(6), bytes: 200n, inodes: 5n });
    usage = { bytes: 300n, inodes: 9n };
    const fresh = await history.forecast(engineer, volume.id, 'dq_1');
    expect(fresh.bytes.hard).toMatchObject({ bytesPerDay: 400, samples: 3, secondsToFull: (700 / 400) * 86_400 });
    expect(fresh.usage).toEqual({ at: now, bytes: 300n, inodes: 9n });
  });

  it("uses a walk's figures at their own time for quotas JuiceFS does not count", async () => {
    await store.insert(newQuota({ native: false, quota: { ...noLimits, softBytes: 1000n } }));
    await store.recordWalkUsage('acme', 'dq_1', { bytes: 300n, inodes: 2n, at: at(10) });
    await store.recordSamples([sample(0, 100n)]);
    usage = { bytes: 999n, inodes: 9n }; // never read for a walked quota
    const f = await history.forecast(engineer, volume.id, 'dq_1');
    expect(f.usage).toEqual({ at: at(10), bytes: 300n, inodes: 2n });
    expect(f.bytes.soft).toMatchObject({ bytesPerDay: 480, samples: 2 });
  });

  it('lists the last 30 days up to now by default', async () => {
    await store.insert(newQuota());
    await store.recordSamples([sample(-31 * 24, 1n), sample(-24, 2n), sample(12, 3n)]);
    const h = await history.history(engineer, volume.id, 'dq_1', {});
    expect(h).toMatchObject({ quotaId: 'dq_1', volumeId: volume.id, since: at(12 - 30 * 24), until: now });
    expect(h.samples.map((s) => s.bytes)).toEqual([2n]); // `until` is exclusive
  });
});

describe('DirectoryQuotaEnforcer samples', () => {
  let store: FakeDirectoryQuotaStore;
  let tv: TkvVolume;
  let enforcer: DirectoryQuotaEnforcer;
  let now: Date;
  let dir: bigint;
  let use: DirectoryQuotaEnforcerFixture['use'];

  beforeEach(async () => {
    now = at(0);
    const f = await directoryQuotaEnforcerFixture(volume, () => now);
    ({ tv, dir, store, enforcer, use } = f);
    await f.applier.apply(await store.insert(newQuota({ inode: dir, quota: { ...noLimits, hardBytes: 1n << 30n } })));
  });
  const samples = async () => (await store.listSamples('acme', 'dq_1', { since: at(-1), until: at(100) })).map((s) => [s.at.getTime() - t0, s.bytes, s.inodes]);

  it('keeps what each pass read when it moved, nothing for a missing record', async () => {
    await use(4096n, 1n);
    expect(await enforcer.pass()).toMatchObject({ evaluated: 1, sampled: 1 });
    now = at(0.25);
    expect(await enforcer.pass()).toMatchObject({ sampled: 0 }); // still, and only 15 min on
    now = at(0.5);
    await use(8192n, 2n);
    expect(await enforcer.pass()).toMatchObject({ sampled: 1 });
    now = at(1);
    await tv.engine.txn(async (t) => t.delete(tv.keys.dirQuota(dir)));
    expect(await enforcer.pass()).toMatchObject({ unknown: 1, sampled: 0 });
    expect(await samples()).toEqual([
      [0, 4096n, 1n],
      [0.5 * HOUR, 8192n, 2n],
    ]);
  });

  it('still decides when the history cannot be written', async () => {
    store.recordSamples = async () => {
      throw new Error('disk full');
    };
    await use(2n << 30n, 1n); // over the hard limit JuiceFS enforces: the policy freezes
    expect(await enforcer.pass()).toMatchObject({ evaluated: 1, changed: 1, sampled: 0 });
    expect((await store.find('acme', 'dq_1'))!.enforcement.state).toBe('frozen');
  });
});
