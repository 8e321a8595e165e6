/**
 * The process's own variables: HTTP listener and its limits, PostgreSQL, tokens, logging, the
 * outbound allow list and the data directory the zero-config mode keeps its files in.
 */
import path from 'node:path';
import { z } from 'zod';
import { FAILPOINTS, parseFailpoints } from '../lib/failpoints.js';
import { bool } from './parse.js';

/** The variables of {@link ServiceConfig}. */
export const serviceEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080).describe('HTTP port to listen on'),
  HOST: z.string().default('0.0.0.0').describe('Interface to bind'),
  REQUEST_BODY_LIMIT: z.string().default('1mb').describe('Largest accepted JSON body'),
  TRUST_PROXY: bool.default('false').describe('Honour X-Forwarded-* headers'),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional().describe('Bearer token /metrics requires; unset = /metrics is open (keep it on an internal network)'),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(60).describe('Window of the rate limits (sliding, shared by replicas through REDIS_URL when set)'),
  RATE_LIMIT_ANONYMOUS: z.coerce.number().int().min(0).default(120).describe('Requests per window from one client address without a valid token; more get 429 rate_limited (0 = no limit)'),
  RATE_LIMIT_AUTHENTICATED: z.coerce.number().int().min(0).default(1200).describe('Requests per window from one principal (token `sub`); more get 429 rate_limited (0 = no limit)'),
  OUTBOUND_ALLOW: z
    .string()
    .default('')
    .describe("Hosts, host:port, IPs or CIDRs that webhooks may reach although they are loopback, private or link-local (comma-separated); Headroom's own endpoints need an exact host:port"),
  PUBLIC_URL: z.string().url().default('http://localhost:8080').describe('Base URL of this API, used in links inside notifications'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
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
});

/** The slices of the app config this group fills. */
export interface ServiceConfig {
  readonly http: { readonly port: number; readonly host: string; readonly bodyLimit: string; readonly trustProxy: boolean; readonly metricsToken?: string };
  readonly outboundAllow: readonly string[];
  /** FAILPOINTS as given (tests only; parsed by server/lib/failpoints.ts). */
  readonly failpoints: string;
  readonly rateLimit: { readonly windowMs: number; readonly anonymous: number; readonly authenticated: number };
  readonly dataDir: string;
  readonly database: { readonly url?: string; readonly embeddedPort: number; readonly poolMax: number };
  readonly auth: { readonly secret?: string; readonly issuer: string; readonly maxLifetimeSeconds: number };
  readonly logLevel: string;
  readonly publicUrl: string;
}

/** Maps the parsed variables to {@link ServiceConfig}. */
export function parseServiceConfig(e: z.infer<typeof serviceEnv>): ServiceConfig {
  return {
    http: { port: e.PORT, host: e.HOST, bodyLimit: e.REQUEST_BODY_LIMIT, trustProxy: e.TRUST_PROXY, metricsToken: e.METRICS_TOKEN },
    rateLimit: { windowMs: e.RATE_LIMIT_WINDOW_SECONDS * 1000, anonymous: e.RATE_LIMIT_ANONYMOUS, authenticated: e.RATE_LIMIT_AUTHENTICATED },
    failpoints: e.FAILPOINTS,
    outboundAllow: e.OUTBOUND_ALLOW.split(',')
      .map((x) => x.trim())
      .filter(Boolean),
    dataDir: path.resolve(e.DATA_DIR),
    database: { url: e.DATABASE_URL, embeddedPort: e.EMBEDDED_PG_PORT, poolMax: e.DATABASE_POOL_MAX },
    auth: { secret: e.JWT_SECRET, issuer: e.JWT_ISSUER, maxLifetimeSeconds: e.JWT_MAX_LIFETIME_SECONDS },
    logLevel: e.LOG_LEVEL,
    publicUrl: e.PUBLIC_URL.replace(/\/+$/, ''),
  };
}
