/**
 * The only reader of `process.env`. `loadConfig(env)` validates every variable with zod, reports
 * every problem at once (naming the variable), and returns a deeply frozen object. Constructors
 * receive slices of it; nothing reads the environment after boot.
 */
import path from 'node:path';
import { FAILPOINTS, parseFailpoints } from './lib/failpoints.js';
import cron from 'node-cron';
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

const cronExpr = z.string().refine((v) => cron.validate(v), 'is not a valid cron expression');

/** Every variable Headroom reads, its default, and what it does (the README table mirrors this). */
export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080).describe('HTTP port to listen on'),
  HOST: z.string().default('0.0.0.0').describe('Interface to bind'),
  DATA_DIR: z.string().default('./data').describe('Where zero-config mode keeps its embedded database, JWT secret and local metadata'),
  DATABASE_URL: z.string().url().optional().describe('PostgreSQL URL; unset = embedded PostgreSQL under DATA_DIR/pg'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(2).max(500).default(10).describe('Most PostgreSQL connections this process opens (no request needs two at once)'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329).describe('Port of the embedded PostgreSQL'),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional().describe('HS256 secret; unset = random secret kept in DATA_DIR/jwt-secret'),
  JWT_ISSUER: z.string().default('headroom').describe('`iss` claim written by the token script and required on every token'),
  JWT_MAX_LIFETIME_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(366 * 86_400)
    .default(31 * 86_400)
    .describe('Longest token lifetime (exp - iat) accepted; longer-lived tokens, and tokens without exp, get 401 token_lifetime_exceeded'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
  META_ENGINE: z.enum(['local', 'etcd', 'tikv', 'redis']).default('local').describe('Engine for new volumes when the request names none'),
  LOCAL_META_PATH: z.string().optional().describe('SQLite file of the local engine; default DATA_DIR/meta.db'),
  ETCD_ENDPOINTS: csv.optional().describe('Comma-separated host:port of etcd, enables engine "etcd"'),
  TIKV_PD_ENDPOINTS: csv.optional().describe('Comma-separated host:port of PD, enables engine "tikv"'),
  REDIS_META_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional()
    .describe('Redis server for volumes on engine "redis" (redis://[:password@]host:port); its credentials are used for every volume on it'),
  REDIS_META_DBS: z
    .string()
    .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'must be a list of database numbers or ranges, e.g. 1-15')
    .default('1-15')
    .describe('Database numbers Headroom may give to new Redis volumes, one volume each, never reused'),
  META_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(1500)
    .describe('Deadline of one call to a metadata engine (etcd, TiKV, Redis); past it an API call answers 503 dependency_unavailable and a pass reads the volume as unknown'),
  JUICEFS_FORMAT_VERSION: z.enum(['1.1', '0.17']).default('1.1').describe('JuiceFS client generation new volumes are formatted for'),
  JUICEFS_TRASH_DAYS: z.coerce.number().int().min(0).max(3650).default(1).describe('TrashDays of new volumes (0 disables trash: deletes free quota at once)'),
  OBJECTS_DIR: z.string().optional().describe('JuiceFS "file" storage for new volumes when no object store is set; default DATA_DIR/objects'),
  DEFAULT_GRACE_SECONDS: z.coerce.number().int().min(0).max(31_536_000).default(604_800).describe('Grace period when a quota names none'),
  REQUEST_BODY_LIMIT: z.string().default('1mb').describe('Largest accepted JSON body'),
  TRUST_PROXY: bool.default('false').describe('Honour X-Forwarded-* headers'),
  OUTBOUND_ALLOW: z
    .string()
    .default('')
    .describe("Hosts, host:port, IPs or CIDRs that webhooks may reach although they are loopback, private or link-local (comma-separated); Headroom's own endpoints need an exact host:port"),
  FAILPOINTS: z
    .string()
    .default('')
    .refine(
      (v) => {
        try {
          parseFailpoints(v);
          return true;
        } catch {
          return false;
        }
      },
      `must be name=crash|error,… with names from: ${FAILPOINTS.join(', ')}`,
    )
    .describe('Tests only: failpoints that kill the process (crash) or fail the call (error) at a named step (server/lib/failpoints.ts); never set in production'),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional().describe('Bearer token /metrics requires; unset = /metrics is open (keep it on an internal network)'),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(60).describe('Window of the rate limits (sliding, shared by replicas through REDIS_URL when set)'),
  RATE_LIMIT_ANONYMOUS: z.coerce.number().int().min(0).default(120).describe('Requests per window from one client address without a valid token; more get 429 rate_limited (0 = no limit)'),
  RATE_LIMIT_AUTHENTICATED: z.coerce.number().int().min(0).default(1200).describe('Requests per window from one principal (token `sub`); more get 429 rate_limited (0 = no limit)'),
  PUBLIC_URL: z.string().url().default('http://localhost:8080').describe('Base URL of this API, used in links inside notifications'),
  REDIS_URL: z.string().url().optional().describe('Redis for the scheduler lease (several instances); unset = in-process lock (one instance)'),
  LEASE_TTL_MS: z.coerce.number().int().min(1000).default(30_000).describe('Scheduler lease time-to-live; a dead leader is replaced within this'),
  SCHEDULER_ENABLED: bool.default('true').describe('Run the cron schedules in this process (jobs can still be triggered by API)'),
  SCAN_COUNTERS_CRON: cronExpr.default('*/5 * * * *').describe("Read every volume's usage counters, record samples and enforce"),
  SCAN_WALK_CRON: cronExpr.default('0 2 * * *').describe('Walk every volume for per-directory usage'),
  ENFORCE_CRON: cronExpr.default('2-59/15 * * * *').describe('Re-evaluate every volume on its stored reading (grace and manual-freeze expiry, stale data)'),
  ENFORCE_HYSTERESIS: z.coerce.number().min(0).max(0.5).default(0.02).describe('Fraction below the soft limit usage must fall to be released'),
  ENFORCE_MAX_READING_AGE_SECONDS: z.coerce.number().int().min(1).default(900).describe('Older readings are not acted upon (state becomes unknown)'),
  ENFORCE_MISMATCH_TOLERANCE: z.coerce.number().min(0).max(1).default(0.05).describe('Walk vs counters disagreement (fraction) above which a volume is unknown'),
  WALK_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2).describe('Volumes walked at once by the nightly job'),
  WALK_KEYS_PER_SECOND: z.coerce.number().int().min(1).default(20_000).describe('Read budget of one walk, in keys per second'),
  WALK_TOTAL_KEYS_PER_SECOND: z.coerce.number().int().min(1).default(50_000).describe('Read budget of all walks together, in keys per second'),
  WALK_MIN_INTERVAL_HOURS: z.coerce.number().min(0).default(20).describe('A volume walked more recently is skipped (so a restarted job resumes)'),
  WALK_MAX_STORED_DIRECTORIES: z.coerce.number().int().min(100).default(20_000).describe('Directories kept per walk: all down to depth 2, then the largest by bytes and inodes'),
  WALK_JOB_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(21_600).describe('Deadline of the nightly walk job'),
  WALK_ENRICH: bool.default('true').describe('Walks also collect file ages, sizes, types and the largest files (the insights findings need them)'),
  SMTP_URL: z.string().url().optional().describe('SMTP server for email notices (smtp://user:pass@host:port); unset = no email'),
  SMTP_FROM: z.string().default('Headroom <headroom@localhost>').describe('From address of email notices'),
  WEBHOOK_SECRET: z.string().min(16).optional().describe('HMAC-SHA256 key signing webhooks; unset = random, kept in DATA_DIR/webhook-secret'),
  ADMIN_EMAIL: z.string().email().optional().describe('Where admin alerts (unknown volumes, failed deliveries) are emailed'),
  ADMIN_WEBHOOK_URL: z.string().url().optional().describe('Where admin alerts are posted'),
  NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8).describe('Delivery attempts before a notice is marked failed'),
  NOTIFY_BACKOFF_MS: z.coerce.number().int().min(1).default(30_000).describe('First retry delay; doubles with each attempt'),
  NOTIFY_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000).describe('Webhook and SMTP timeout'),
  NOTIFY_POLL_MS: z.coerce.number().int().min(10).default(2000).describe('How often the dispatcher looks for due deliveries'),
  QUOTA_MAX_HARD_BYTES: z.coerce.bigint().positive().default(1_000_000_000_000_000n).describe('Platform-wide ceiling: no quota (requested, approved or set) above this many bytes'),
  QUOTA_MAX_HARD_INODES: z.coerce.bigint().positive().default(1_000_000_000n).describe('Platform-wide ceiling on inodes'),
  SEAWEEDFS_S3_ENDPOINT: z.string().url().optional().describe('SeaweedFS S3 gateway (http://s3:8333); with the other SEAWEEDFS_* it gives every new volume its own bucket'),
  SEAWEEDFS_IAM_ENDPOINT: z.string().url().optional().describe('IAM API endpoint; default the S3 endpoint (embedded IAM, SeaweedFS >= 4.03, -s3.iam.readOnly=false)'),
  SEAWEEDFS_FILER_URL: z.string().url().optional().describe('SeaweedFS filer HTTP (http://filer:8888), for filer.conf freeze rules'),
  SEAWEEDFS_MASTER_URL: z.string().url().optional().describe('SeaweedFS master HTTP (http://master:9333), for per-bucket usage'),
  SEAWEEDFS_ACCESS_KEY: z.string().optional().describe('Access key of a SeaweedFS identity with the Admin action'),
  SEAWEEDFS_SECRET_KEY: z.string().optional().describe('Its secret key'),
  STORAGE_SECRET_KEY: z.string().min(32).optional().describe("Key that encrypts tenants' storage secret keys at rest; unset = random, kept in DATA_DIR/storage-secret-key"),
  STORAGE_KEY_OVERLAP_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(90 * 86_400)
    .default(86_400)
    .describe("How long a tenant's previous storage key stays valid after a rotation; the first reconcile pass after that revokes it"),
  STORAGE_SECRET_KEY_PREVIOUS: csv
    .refine((keys) => keys.every((k) => k.length >= 32), 'each key must be at least 32 characters')
    .optional()
    .describe('Earlier STORAGE_SECRET_KEY values (comma-separated) still accepted for opening sealed storage secrets while `npm run rekey` re-seals them with the current key'),
  STORAGE_GAP_FLOOR_BYTES: z.coerce
    .bigint()
    .nonnegative()
    .default(1n << 30n)
    .describe('Storage-vs-metadata usage gaps below this (and below 20 %) are not reported'),
  RECONCILE_CRON: cronExpr.default('* * * * *').describe('Finish or undo onboardings a crash interrupted; re-apply storage freeze rules; compare storage and metadata usage'),
  FORECAST_WINDOW_DAYS: z.coerce.number().min(0.01).default(7).describe('Days of samples the time-to-full forecast fits'),
  FORECAST_ALERT_DAYS: z.coerce.number().min(0).default(7).describe('Warn when the forecast says full (the hard limit) within this many days'),
  FORECAST_WARN_SOFT_DAYS: z.coerce.number().min(0).default(7).describe('Warn when the forecast says the soft limit is reached within this many days'),
  FORECAST_RESEND_CHANGE: z.coerce.number().min(0).default(0.25).describe('Re-send an early warning when the predicted time moved by more than this fraction of the time-to-full last sent…'),
  FORECAST_RESEND_SHIFT_HOURS: z.coerce.number().min(0).default(24).describe('…or by more than this many hours'),
  FORECAST_MAX_PER_DAY: z.coerce.number().int().min(1).default(2).describe('At most this many early warnings per volume in 24 hours'),
  DIGEST_CRON: cronExpr.default('0 8 * * 1').describe('When the weekly per-tenant digest is sent (default Monday 08:00)'),
  ENFORCE_VERIFY_EVERY_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(3_600_000)
    .describe('Longest time between two checks that a volume neither frozen nor clamped holds its desired JuiceFS limits and storage rule (frozen and clamped ones are checked every pass)'),
  ENFORCE_APPLY_BACKOFF_MS: z.coerce.number().int().min(10).default(1000).describe('First retry delay of a failed apply of desired enforcement state; doubles per attempt, up to 5 minutes'),
});

/** The parsed, frozen configuration handed to the composition root. */
export interface AppConfig {
  readonly http: { readonly port: number; readonly host: string; readonly bodyLimit: string; readonly trustProxy: boolean; readonly metricsToken?: string };
  readonly outboundAllow: readonly string[];
  /** FAILPOINTS as given (tests only; parsed by server/lib/failpoints.ts). */
  readonly failpoints: string;
  readonly rateLimit: { readonly windowMs: number; readonly anonymous: number; readonly authenticated: number };
  readonly dataDir: string;
  readonly database: { readonly url?: string; readonly embeddedPort: number; readonly poolMax: number };
  readonly auth: { readonly secret?: string; readonly issuer: string; readonly maxLifetimeSeconds: number };
  readonly logLevel: string;
  readonly meta: {
    readonly defaultEngine: 'local' | 'etcd' | 'tikv' | 'redis';
    readonly localPath: string;
    readonly etcdEndpoints?: readonly string[];
    readonly tikvPdEndpoints?: readonly string[];
    readonly redisUrl?: string;
    readonly redisDbs: readonly number[];
    readonly formatVersion: '1.1' | '0.17';
    readonly trashDays: number;
    readonly objectsDir: string;
    readonly timeoutMs: number;
  };
  readonly quotas: { readonly defaultGraceSeconds: number; readonly maxHardBytes: bigint; readonly maxHardInodes: bigint };
  readonly publicUrl: string;
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
  readonly storage?: {
    readonly s3Endpoint: string;
    readonly iamEndpoint: string;
    readonly filerUrl: string;
    readonly masterUrl: string;
    readonly accessKey: string;
    readonly secretKey: string;
  };
  readonly storageSecretKey?: string;
  readonly storageGapFloor: bigint;
  readonly storageKeyOverlapMs: number;
  readonly storageSecretKeysPrevious: readonly string[];
  readonly walks: {
    readonly enrich: boolean;
    readonly maxStoredDirectories: number;
    readonly concurrency: number;
    readonly keysPerSecond: number;
    readonly totalKeysPerSecond: number;
    readonly minIntervalMs: number;
  };
  readonly notify: {
    readonly smtpUrl?: string;
    readonly smtpFrom: string;
    readonly webhookSecret?: string;
    readonly adminEmail?: string;
    readonly adminWebhookUrl?: string;
    readonly maxAttempts: number;
    readonly backoffMs: number;
    readonly timeoutMs: number;
    readonly pollMs: number;
    /** Early-warning pacing (server/notifications/forecast-pacing.ts). */
    readonly pacing: { readonly horizonDays: { readonly soft: number; readonly hard: number }; readonly resendChange: number; readonly resendShiftHours: number; readonly maxPerDay: number };
  };
}

/** Raised at boot when the environment is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses `env` (normally `process.env`) once into a frozen {@link AppConfig}. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  if (e.META_ENGINE === 'etcd' && !e.ETCD_ENDPOINTS) throw new ConfigError(['META_ENGINE: "etcd" needs ETCD_ENDPOINTS']);
  if (e.META_ENGINE === 'tikv' && !e.TIKV_PD_ENDPOINTS) throw new ConfigError(['META_ENGINE: "tikv" needs TIKV_PD_ENDPOINTS']);
  if (e.META_ENGINE === 'redis' && !e.REDIS_META_URL) throw new ConfigError(['META_ENGINE: "redis" needs REDIS_META_URL']);
  return deepFreeze({
    http: { port: e.PORT, host: e.HOST, bodyLimit: e.REQUEST_BODY_LIMIT, trustProxy: e.TRUST_PROXY, metricsToken: e.METRICS_TOKEN },
    rateLimit: { windowMs: e.RATE_LIMIT_WINDOW_SECONDS * 1000, anonymous: e.RATE_LIMIT_ANONYMOUS, authenticated: e.RATE_LIMIT_AUTHENTICATED },
    failpoints: e.FAILPOINTS,
    outboundAllow: e.OUTBOUND_ALLOW.split(',')
      .map((x) => x.trim())
      .filter(Boolean),
    dataDir,
    database: { url: e.DATABASE_URL, embeddedPort: e.EMBEDDED_PG_PORT, poolMax: e.DATABASE_POOL_MAX },
    auth: { secret: e.JWT_SECRET, issuer: e.JWT_ISSUER, maxLifetimeSeconds: e.JWT_MAX_LIFETIME_SECONDS },
    logLevel: e.LOG_LEVEL,
    meta: {
      defaultEngine: e.META_ENGINE,
      localPath: path.resolve(e.LOCAL_META_PATH ?? path.join(dataDir, 'meta.db')),
      etcdEndpoints: e.ETCD_ENDPOINTS,
      tikvPdEndpoints: e.TIKV_PD_ENDPOINTS,
      redisUrl: e.REDIS_META_URL,
      redisDbs: parseRanges(e.REDIS_META_DBS),
      formatVersion: e.JUICEFS_FORMAT_VERSION,
      trashDays: e.JUICEFS_TRASH_DAYS,
      objectsDir: path.resolve(e.OBJECTS_DIR ?? path.join(dataDir, 'objects')),
      timeoutMs: e.META_TIMEOUT_MS,
    },
    quotas: { defaultGraceSeconds: e.DEFAULT_GRACE_SECONDS, maxHardBytes: e.QUOTA_MAX_HARD_BYTES, maxHardInodes: e.QUOTA_MAX_HARD_INODES },
    publicUrl: e.PUBLIC_URL.replace(/\/+$/, ''),
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
    storage: storageOf(e),
    storageSecretKey: e.STORAGE_SECRET_KEY,
    storageGapFloor: e.STORAGE_GAP_FLOOR_BYTES,
    storageKeyOverlapMs: e.STORAGE_KEY_OVERLAP_SECONDS * 1000,
    storageSecretKeysPrevious: e.STORAGE_SECRET_KEY_PREVIOUS ?? [],
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
    notify: {
      smtpUrl: e.SMTP_URL,
      smtpFrom: e.SMTP_FROM,
      webhookSecret: e.WEBHOOK_SECRET,
      adminEmail: e.ADMIN_EMAIL,
      adminWebhookUrl: e.ADMIN_WEBHOOK_URL,
      maxAttempts: e.NOTIFY_MAX_ATTEMPTS,
      backoffMs: e.NOTIFY_BACKOFF_MS,
      timeoutMs: e.NOTIFY_TIMEOUT_MS,
      pollMs: e.NOTIFY_POLL_MS,
      pacing: {
        horizonDays: { soft: e.FORECAST_WARN_SOFT_DAYS, hard: e.FORECAST_ALERT_DAYS },
        resendChange: e.FORECAST_RESEND_CHANGE,
        resendShiftHours: e.FORECAST_RESEND_SHIFT_HOURS,
        maxPerDay: e.FORECAST_MAX_PER_DAY,
      },
    },
  });
}

/** The SeaweedFS settings: all of them, or none (then volumes use local `file` storage). */
function storageOf(e: z.infer<typeof envSchema>): AppConfig['storage'] {
  const need = {
    SEAWEEDFS_S3_ENDPOINT: e.SEAWEEDFS_S3_ENDPOINT,
    SEAWEEDFS_FILER_URL: e.SEAWEEDFS_FILER_URL,
    SEAWEEDFS_MASTER_URL: e.SEAWEEDFS_MASTER_URL,
    SEAWEEDFS_ACCESS_KEY: e.SEAWEEDFS_ACCESS_KEY,
    SEAWEEDFS_SECRET_KEY: e.SEAWEEDFS_SECRET_KEY,
  };
  const set = Object.entries(need).filter(([, v]) => v);
  if (set.length === 0) return undefined;
  const missing = Object.entries(need)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length) throw new ConfigError(missing.map((k) => `${k}: required when any SEAWEEDFS_* is set`));
  return {
    s3Endpoint: e.SEAWEEDFS_S3_ENDPOINT!,
    iamEndpoint: e.SEAWEEDFS_IAM_ENDPOINT ?? e.SEAWEEDFS_S3_ENDPOINT!,
    filerUrl: e.SEAWEEDFS_FILER_URL!,
    masterUrl: e.SEAWEEDFS_MASTER_URL!,
    accessKey: e.SEAWEEDFS_ACCESS_KEY!,
    secretKey: e.SEAWEEDFS_SECRET_KEY!,
  };
}

/** "1-3,7" → [1, 2, 3, 7]. */
function parseRanges(spec: string): number[] {
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const [lo, hi = lo] = part.split('-').map(Number) as [number, number?];
    for (let n = lo; n <= hi!; n++) out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
