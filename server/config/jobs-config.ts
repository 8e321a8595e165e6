/**
 * The scheduled work and the policy it applies: schedules and the lease, quota ceilings and
 * grace, enforcement thresholds, and the walks' budgets.
 */
import { z } from 'zod';
import { bool, cronExpr } from './parse.js';

/** The variables of {@link JobsConfig}. */
export const jobsEnv = z.object({
  REDIS_URL: z.string().url().optional().describe('Redis for the scheduler lease (several instances); unset = in-process lock (one instance)'),
  LEASE_TTL_MS: z.coerce.number().int().min(1000).default(30_000).describe('Scheduler lease time-to-live; a dead leader is replaced within this'),
  SCHEDULER_ENABLED: bool.default('true').describe('Run the cron schedules in this process (jobs can still be triggered by API)'),
  SCAN_COUNTERS_CRON: cronExpr.default('*/5 * * * *').describe("Read every volume's usage counters, record samples and enforce"),
  SCAN_WALK_CRON: cronExpr.default('0 2 * * *').describe('Walk every volume for per-directory usage'),
  ENFORCE_CRON: cronExpr.default('2-59/15 * * * *').describe('Re-evaluate every volume on its stored reading (grace and manual-freeze expiry, stale data)'),
  RECONCILE_CRON: cronExpr.default('* * * * *').describe('Finish or undo onboardings a crash interrupted; re-apply storage freeze rules; compare storage and metadata usage'),
  DIGEST_CRON: cronExpr.default('0 8 * * 1').describe('When the weekly per-tenant digest is sent (default Monday 08:00)'),
  WALK_JOB_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(21_600).describe('Deadline of the nightly walk job'),
  DEFAULT_GRACE_SECONDS: z.coerce.number().int().min(0).max(31_536_000).default(604_800).describe('Grace period when a quota names none'),
  QUOTA_MAX_HARD_BYTES: z.coerce.bigint().positive().default(1_000_000_000_000_000n).describe('Platform-wide ceiling: no quota (requested, approved or set) above this many bytes'),
  QUOTA_MAX_HARD_INODES: z.coerce.bigint().positive().default(1_000_000_000n).describe('Platform-wide ceiling on inodes'),
  ENFORCE_HYSTERESIS: z.coerce.number().min(0).max(0.5).default(0.02).describe('Fraction below the soft limit usage must fall to be released'),
  ENFORCE_MAX_READING_AGE_SECONDS: z.coerce.number().int().min(1).default(900).describe('Older readings are not acted upon (state becomes unknown)'),
  ENFORCE_MISMATCH_TOLERANCE: z.coerce.number().min(0).max(1).default(0.05).describe('Walk vs counters disagreement (fraction) above which a volume is unknown'),
  ENFORCE_VERIFY_EVERY_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(3_600_000)
    .describe('Longest time between two checks that a volume neither frozen nor clamped holds its desired JuiceFS limits and storage rule (frozen and clamped ones are checked every pass)'),
  ENFORCE_APPLY_BACKOFF_MS: z.coerce.number().int().min(10).default(1000).describe('First retry delay of a failed apply of desired enforcement state; doubles per attempt, up to 5 minutes'),
  FORECAST_WINDOW_DAYS: z.coerce.number().min(0.01).default(7).describe('Days of samples the time-to-full forecast fits'),
  FORECAST_ALERT_DAYS: z.coerce.number().min(0).default(7).describe('Warn when the forecast says full (the hard limit) within this many days'),
  WALK_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2).describe('Volumes walked at once by the nightly job'),
  WALK_KEYS_PER_SECOND: z.coerce.number().int().min(1).default(20_000).describe('Read budget of one walk, in keys per second'),
  WALK_TOTAL_KEYS_PER_SECOND: z.coerce.number().int().min(1).default(50_000).describe('Read budget of all walks together, in keys per second'),
  WALK_MIN_INTERVAL_HOURS: z.coerce.number().min(0).default(20).describe('A volume walked more recently is skipped (so a restarted job resumes)'),
  WALK_MAX_STORED_DIRECTORIES: z.coerce.number().int().min(100).default(20_000).describe('Directories kept per walk: all down to depth 2, then the largest by bytes and inodes'),
  WALK_ENRICH: bool.default('true').describe('Walks also collect file ages, sizes, types and the largest files (the insights findings need them)'),
});

/** The slices of the app config this group fills. */
export interface JobsConfig {
  readonly quotas: { readonly defaultGraceSeconds: number; readonly maxHardBytes: bigint; readonly maxHardInodes: bigint };
  readonly jobs: {
    readonly enabled: boolean;
    readonly redisUrl?: string;
    readonly leaseTtlMs: number;
    readonly countersCron: string;
    readonly walkCron: string;
    readonly enforceCron: string;
    readonly walkTimeoutMs: number;
    readonly reconcileCron: string;
    /** The weekly per-tenant digest (issue 18). */
    readonly digestCron: string;
  };
  readonly enforcement: {
    readonly hysteresis: number;
    readonly maxReadingAgeMs: number;
    readonly mismatchTolerance: number;
    readonly forecastWindowDays: number;
    readonly forecastAlertDays: number;
    readonly verifyEveryMs: number;
    readonly applyBackoffMs: number;
  };
  readonly walks: {
    readonly enrich: boolean;
    readonly maxStoredDirectories: number;
    readonly concurrency: number;
    readonly keysPerSecond: number;
    readonly totalKeysPerSecond: number;
    readonly minIntervalMs: number;
  };
}

/** Maps the parsed variables to {@link JobsConfig}. */
export function parseJobsConfig(e: z.infer<typeof jobsEnv>): JobsConfig {
  return {
    quotas: { defaultGraceSeconds: e.DEFAULT_GRACE_SECONDS, maxHardBytes: e.QUOTA_MAX_HARD_BYTES, maxHardInodes: e.QUOTA_MAX_HARD_INODES },
    jobs: {
      enabled: e.SCHEDULER_ENABLED,
      redisUrl: e.REDIS_URL,
      leaseTtlMs: e.LEASE_TTL_MS,
      countersCron: e.SCAN_COUNTERS_CRON,
      walkCron: e.SCAN_WALK_CRON,
      enforceCron: e.ENFORCE_CRON,
      walkTimeoutMs: e.WALK_JOB_TIMEOUT_SECONDS * 1000,
      reconcileCron: e.RECONCILE_CRON,
      digestCron: e.DIGEST_CRON,
    },
    enforcement: {
      hysteresis: e.ENFORCE_HYSTERESIS,
      maxReadingAgeMs: e.ENFORCE_MAX_READING_AGE_SECONDS * 1000,
      mismatchTolerance: e.ENFORCE_MISMATCH_TOLERANCE,
      forecastWindowDays: e.FORECAST_WINDOW_DAYS,
      forecastAlertDays: e.FORECAST_ALERT_DAYS,
      verifyEveryMs: e.ENFORCE_VERIFY_EVERY_MS,
      applyBackoffMs: e.ENFORCE_APPLY_BACKOFF_MS,
    },
    walks: {
      enrich: e.WALK_ENRICH,
      maxStoredDirectories: e.WALK_MAX_STORED_DIRECTORIES,
      concurrency: e.WALK_CONCURRENCY,
      keysPerSecond: e.WALK_KEYS_PER_SECOND,
      totalKeysPerSecond: e.WALK_TOTAL_KEYS_PER_SECOND,
      minIntervalMs: e.WALK_MIN_INTERVAL_HOURS * 3_600_000,
    },
  };
}
