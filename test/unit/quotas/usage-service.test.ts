/** UsageService over the in-memory usage store: current usage with its forecast and state, and history windows. */
import { beforeEach, describe, expect, it } from 'vitest';
import { initialState } from '../../../server/enforcement/enforcement-store.js';
import { FAKE_TRX } from '../../../server/lib/in-memory-transactions.js';
import { FakeUsageStore } from '../../../server/quotas/fake-usage-store.js';
import { UsageService } from '../../../server/quotas/usage-service.js';
import type { StateRow } from '../../../server/enforcement/enforcement-states.js';
import type { Volume } from '../../../server/volumes/volume.js';
import { engineer } from '../../support/unit.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MB = 1_000_000n;

const volume = (hardBytes: bigint | null): Volume => ({
  id: 'vol_a',
  tenantId: 'acme',
  name: 'a',
  prefix: 'a',
  engine: 'local',
  metaUrl: 'local://x?prefix=a',
  state: 'active',
  stateDetail: null,
  quota: { softBytes: null, hardBytes, softInodes: null, hardInodes: null, graceSeconds: 0 },
  storage: { kind: 'file', bucket: null },
  requestHash: 'h',
  createdAt: new Date(0),
  updatedAt: new Date(0),
});

describe('UsageService over the in-memory store', () => {
  let store: FakeUsageStore;
  let v: Volume;
  let used: bigint;
  let state: StateRow | undefined;
  let usage: UsageService;
  beforeEach(() => {
    store = new FakeUsageStore();
    v = volume(100n * MB);
    used = 60n * MB;
    state = undefined;
    usage = new UsageService({
      db: FAKE_TRX as never,
      store,
      volumes: { get: async () => v } as never,
      walks: { usageOf: async () => ({ usedBytes: used, usedInodes: 1n, source: 'counters' as const, readAt: new Date() }) } as never,
      states: { find: async () => state },
      requests: { pending: async () => undefined },
      forecastWindowDays: 7,
      hysteresis: 0.05,
      publicUrl: 'https://headroom.example.com',
    });
  });
  /** Readings as past counters passes took them. */
  const history = (points: { agoMs: number; bytes: bigint }[]) =>
    usage.recordReadings(points.map((p) => ({ volumeId: v.id, ok: true as const, bytes: p.bytes, inodes: 1n, at: new Date(Date.now() - p.agoMs) })));

  it('forecasts time to full from the recorded growth and the fresh reading', async () => {
    // 10 MB a day for three days, now at 60 MB of 100 MB: full in about four days.
    await history([3, 2, 1].map((d) => ({ agoMs: d * DAY, bytes: used - BigInt(d) * 10n * MB })));
    const u = await usage.current(engineer('acme'), v.id);
    expect(u).toMatchObject({ usedBytes: used, state: 'ok', pendingRequest: null, quota: { hardBytes: 100n * MB } });
    expect(u.forecast!.bytesPerDay).toBeCloseTo(10_000_000, -5);
    expect(u.forecast!.secondsToFull / 86_400).toBeCloseTo(4, 0);
    expect(u.forecast!.samples).toBe(4);
  });

  it('has no forecast for a still volume, one without a hard limit, or samples older than the window', async () => {
    await history([3, 2, 1].map((d) => ({ agoMs: d * DAY, bytes: used })));
    expect((await usage.current(engineer('acme'), v.id)).forecast).toBeNull();
    v = { ...volume(null), id: 'vol_b' };
    await history([3, 2, 1].map((d) => ({ agoMs: d * DAY, bytes: BigInt(d) * MB })));
    expect((await usage.current(engineer('acme'), v.id)).forecast).toBeNull();
    v = { ...volume(100n * MB), id: 'vol_c' };
    await history([10, 9, 8].map((d) => ({ agoMs: d * DAY, bytes: used - BigInt(d) * MB })));
    expect((await usage.current(engineer('acme'), v.id)).forecast).toBeNull();
  });

  it('answers with the stored enforcement state and what the engineer can do about it', async () => {
    used = 101n * MB;
    state = { ...initialState(v.id, v.tenantId, new Date()), state: 'frozen', reason: 'hard_bytes_reached' };
    const u = await usage.current(engineer('acme'), v.id);
    expect(u.state).toBe('frozen');
    expect(u.whatYouCanDo.length).toBeGreaterThan(0);
  });

  it('gives history in a window, oldest first, and by resolution once downsampled', async () => {
    await history([40, 10, 3, 1].map((d, i) => ({ agoMs: d * DAY, bytes: BigInt(i + 1) * MB })));
    const all = await usage.history(engineer('acme'), v.id, {});
    // The default window is 30 days: the 40-day-old sample is outside it.
    expect(all.samples.map((s) => s.bytes)).toEqual([2n * MB, 3n * MB, 4n * MB]);
    expect(all.samples.every((s) => s.resolution === 'raw')).toBe(true);
    await usage.downsample(new Date());
    const since = new Date(Date.now() - 50 * DAY).toISOString();
    const hourly = await usage.history(engineer('acme'), v.id, { since, resolution: 'hour' });
    expect(hourly.samples.map((s) => s.bytes)).toEqual([2n * MB, 3n * MB]);
    const daily = await usage.history(engineer('acme'), v.id, { since, resolution: 'day' });
    expect(daily.samples.map((s) => s.bytes)).toEqual([1n * MB]);
    const until = new Date(Date.now() - 2 * DAY).toISOString();
    expect((await usage.history(engineer('acme'), v.id, { since, until })).samples.map((s) => s.bytes)).toEqual([1n * MB, 2n * MB, 3n * MB]);
  });
});
