/**
 * Time-to-full forecast: a least-squares line through the recent usage samples, extended to
 * the limit. Pure, so it is unit-tested without a database.
 */

/** One usage sample. */
export interface Sample {
  at: Date;
  bytes: bigint;
  inodes: bigint;
}

/** When the volume reaches `limit` if it keeps growing as it did. */
export interface Forecast {
  /** Growth over the window, bytes per day (positive: a shrinking volume has no forecast). */
  bytesPerDay: number;
  fullAt: Date;
  secondsToFull: number;
  samples: number;
}

/** The shortest span of samples a trend is drawn from; less is noise, not a trend. */
const MIN_SPAN_MS = 3_600_000;

/**
 * Fits bytes over time and returns when the line crosses `limit`, or null when there is no
 * limit, too little history, or usage is not growing.
 */
export function forecastFull(samples: readonly Sample[], limit: bigint | null, now: Date): Forecast | null {
  if (limit === null || samples.length < 2) return null;
  const sorted = [...samples].sort((a, b) => a.at.getTime() - b.at.getTime());
  const t0 = sorted[0]!.at.getTime();
  const span = sorted[sorted.length - 1]!.at.getTime() - t0;
  if (span < MIN_SPAN_MS) return null;
  // Centre both axes so doubles keep precision for byte counts near 2^60.
  const xs = sorted.map((s) => (s.at.getTime() - t0) / 86_400_000);
  const b0 = sorted[0]!.bytes;
  const ys = sorted.map((s) => Number(s.bytes - b0));
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx; // bytes per day
  if (!(slope > 0)) return null;
  const latest = sorted[n - 1]!.bytes;
  const remaining = Number(limit - latest);
  const days = Math.max(0, remaining / slope);
  const fromLatest = sorted[n - 1]!.at.getTime() + days * 86_400_000;
  const fullAt = new Date(Math.max(fromLatest, now.getTime()));
  return { bytesPerDay: Math.round(slope), fullAt, secondsToFull: Math.round((fullAt.getTime() - now.getTime()) / 1000), samples: n };
}
