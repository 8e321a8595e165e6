/**
 * The only reader of `process.env`. `loadConfig(env)` validates every variable with zod, reports
 * every problem at once (naming the variable), and returns a deeply frozen object. Constructors
 * receive slices of it; nothing reads the environment after boot.
 */
import path from 'node:path';
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const csv = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

/** Every variable Headroom reads, its default, and what it does (the README table mirrors this). */
export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080).describe('HTTP port to listen on'),
  HOST: z.string().default('0.0.0.0').describe('Interface to bind'),
  DATA_DIR: z.string().default('./data').describe('Where zero-config mode keeps its embedded database, JWT secret and local metadata'),
  DATABASE_URL: z.string().url().optional().describe('PostgreSQL URL; unset = embedded PostgreSQL under DATA_DIR/pg'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329).describe('Port of the embedded PostgreSQL'),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional().describe('HS256 secret; unset = random secret kept in DATA_DIR/jwt-secret'),
  JWT_ISSUER: z.string().default('headroom').describe('`iss` claim written by the token script and required on every token'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
  META_ENGINE: z.enum(['local', 'etcd', 'tikv']).default('local').describe('Engine for new volumes when the request names none'),
  LOCAL_META_PATH: z.string().optional().describe('SQLite file of the local engine; default DATA_DIR/meta.db'),
  ETCD_ENDPOINTS: csv.optional().describe('Comma-separated host:port of etcd, enables engine "etcd"'),
  TIKV_PD_ENDPOINTS: csv.optional().describe('Comma-separated host:port of PD, enables engine "tikv"'),
  JUICEFS_FORMAT_VERSION: z.enum(['1.1', '0.17']).default('1.1').describe('JuiceFS client generation new volumes are formatted for'),
  JUICEFS_TRASH_DAYS: z.coerce.number().int().min(0).max(3650).default(1).describe('TrashDays of new volumes (0 disables trash: deletes free quota at once)'),
  OBJECTS_DIR: z.string().optional().describe('JuiceFS "file" storage for new volumes when no object store is set; default DATA_DIR/objects'),
  DEFAULT_GRACE_SECONDS: z.coerce.number().int().min(0).max(31_536_000).default(604_800).describe('Grace period when a quota names none'),
  REQUEST_BODY_LIMIT: z.string().default('1mb').describe('Largest accepted JSON body'),
  TRUST_PROXY: bool.default('false').describe('Honour X-Forwarded-* headers'),
});

/** The parsed, frozen configuration handed to the composition root. */
export interface AppConfig {
  readonly http: { readonly port: number; readonly host: string; readonly bodyLimit: string; readonly trustProxy: boolean };
  readonly dataDir: string;
  readonly database: { readonly url?: string; readonly embeddedPort: number };
  readonly auth: { readonly secret?: string; readonly issuer: string };
  readonly logLevel: string;
  readonly meta: {
    readonly defaultEngine: 'local' | 'etcd' | 'tikv';
    readonly localPath: string;
    readonly etcdEndpoints?: readonly string[];
    readonly tikvPdEndpoints?: readonly string[];
    readonly formatVersion: '1.1' | '0.17';
    readonly trashDays: number;
    readonly objectsDir: string;
  };
  readonly quotas: { readonly defaultGraceSeconds: number };
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
  return deepFreeze({
    http: { port: e.PORT, host: e.HOST, bodyLimit: e.REQUEST_BODY_LIMIT, trustProxy: e.TRUST_PROXY },
    dataDir,
    database: { url: e.DATABASE_URL, embeddedPort: e.EMBEDDED_PG_PORT },
    auth: { secret: e.JWT_SECRET, issuer: e.JWT_ISSUER },
    logLevel: e.LOG_LEVEL,
    meta: {
      defaultEngine: e.META_ENGINE,
      localPath: path.resolve(e.LOCAL_META_PATH ?? path.join(dataDir, 'meta.db')),
      etcdEndpoints: e.ETCD_ENDPOINTS,
      tikvPdEndpoints: e.TIKV_PD_ENDPOINTS,
      formatVersion: e.JUICEFS_FORMAT_VERSION,
      trashDays: e.JUICEFS_TRASH_DAYS,
      objectsDir: path.resolve(e.OBJECTS_DIR ?? path.join(dataDir, 'objects')),
    },
    quotas: { defaultGraceSeconds: e.DEFAULT_GRACE_SECONDS },
  });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
