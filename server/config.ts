/**
 * The only reader of `process.env`. `loadConfig(env)` validates every variable with zod, reports
 * every problem at once (naming the variable), and returns a deeply frozen object. Constructors
 * receive slices of it; nothing reads the environment after boot. Each group of variables (its
 * schema, its slice of {@link AppConfig} and the mapping between them) lives in server/config/.
 */
import { z } from 'zod';
import { jobsEnv, parseJobsConfig, type JobsConfig } from './config/jobs-config.js';
import { metaEnv, parseMetaConfig, type MetaConfig } from './config/meta-config.js';
import { notifyEnv, parseNotifyConfig, type NotifyConfig } from './config/notify-config.js';
import { ConfigError, deepFreeze } from './config/parse.js';
import { parseServiceConfig, serviceEnv, type ServiceConfig } from './config/service-config.js';
import { parseStorageConfig, storageEnv, type StorageConfig } from './config/storage-config.js';

export { ConfigError } from './config/parse.js';

/** Every variable Headroom reads, its default, and what it does (the README table mirrors this). */
export const envSchema = z.object({
  ...serviceEnv.shape,
  ...metaEnv.shape,
  ...jobsEnv.shape,
  ...storageEnv.shape,
  ...notifyEnv.shape,
});

/** The parsed, frozen configuration handed to the composition root. */
export interface AppConfig extends ServiceConfig, MetaConfig, JobsConfig, StorageConfig, NotifyConfig {}

/** Parses `env` (normally `process.env`) once into a frozen {@link AppConfig}. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const e = parsed.data;
  const service = parseServiceConfig(e);
  return deepFreeze({
    ...service,
    ...parseMetaConfig(e, service.dataDir),
    ...parseJobsConfig(e),
    ...parseStorageConfig(e),
    ...parseNotifyConfig(e),
  });
}
