import { describe, expect, it } from 'vitest';
import { forecastFull, type Sample } from '../../../server/quotas/forecast.js';

const DAY = 86_400_000;
const now = new Date('2026-11-29T12:00:00Z');
const series = (perDay: number, days: number, start = 100): Sample[] =>
  Array.from({ length: days * 4 + 1 }, (_, i) => ({ at: new Date(now.getTime() - days * DAY + (i * DAY) / 4), bytes: BigInt(Math.round(start + (perDay * i) / 4)), inodes: 1n }));

describe('forecastFull', () => {
  it('extends a steady line to the limit', () => {
    const f = forecastFull(series(10, 3), 100n + 30n + 50n, now)!;
    expect(f.bytesPerDay).toBe(10);
    // 130 now, 50 to go at 10/day: five days.
    expect(f.secondsToFull).toBe(5 * 86_400);
    expect(f.fullAt.toISOString()).toBe('2026-12-04T12:00:00.000Z');
    expect(f.samples).toBe(13);
  });

  it('is null when usage is flat or shrinking, without a limit, or with too little history', () => {
    expect(forecastFull(series(0, 3), 1000n, now)).toBeNull();
    expect(forecastFull(series(-5, 3), 1000n, now)).toBeNull();
    expect(forecastFull(series(10, 3), null, now)).toBeNull();
    expect(forecastFull(series(10, 3).slice(-1), 1000n, now)).toBeNull();
    const twoCloseSamples = [
      { at: new Date(now.getTime() - 60_000), bytes: 1n, inodes: 1n },
      { at: now, bytes: 2n, inodes: 1n },
    ];
    expect(forecastFull(twoCloseSamples, 1000n, now)).toBeNull();
  });

  it('says "now" for a volume already past its limit, and keeps precision for huge volumes', () => {
    expect(forecastFull(series(10, 3), 120n, now)!.secondsToFull).toBe(0);
    const big = series(0, 2).map((s, i) => ({ ...s, bytes: (1n << 60n) + BigInt(i) * 1_000_000_000n }));
    const f = forecastFull(big, (1n << 60n) + 100_000_000_000n, now)!;
    expect(f.bytesPerDay).toBe(4_000_000_000);
    expect(f.secondsToFull).toBe(Math.round(((100 - 8) / 4) * 86_400));
  });
});
