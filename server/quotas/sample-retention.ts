/**
 * How long usage samples are kept, for every table of them (volumes' `usage_samples`, directory
 * quotas' `directory_quota_samples`): raw samples for two days, hourly maxima for five weeks,
 * daily maxima for two years. Each store folds its own table in its own SQL; the policy and its
 * cut-offs live here once, so the two histories cannot drift apart. Pure: no database.
 */

/** Resolutions of stored samples. */
export type Resolution = 'raw' | 'hour' | 'day';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** How long each resolution is kept before it is folded into the next one (days: pruned). */
export const SAMPLE_RETENTION = { rawMs: 2 * DAY, hourMs: 35 * DAY, dayMs: 730 * DAY } as const;

/** When a downsampling run at some instant folds and prunes. */
export interface DownsampleCutoffs {
  /** Raw samples before this fold into hourly maxima. */
  rawBefore: Date;
  /** Hourly maxima before this fold into daily maxima. */
  hourBefore: Date;
  /** Daily maxima before this are deleted. */
  dayBefore: Date;
}

/**
 * The cut-offs of a run at `now`. The folding ones are rounded down to their unit (UTC), so only
 * whole buckets are folded and a bucket never gets a second, partial maximum from a later run.
 */
export function downsampleCutoffs(now: Date): DownsampleCutoffs {
  const t = now.getTime();
  return {
    rawBefore: new Date(Math.floor((t - SAMPLE_RETENTION.rawMs) / HOUR) * HOUR),
    hourBefore: new Date(Math.floor((t - SAMPLE_RETENTION.hourMs) / DAY) * DAY),
    dayBefore: new Date(t - SAMPLE_RETENTION.dayMs),
  };
}
