/** The metadata engines: which one new volumes use, where each is, and how new volumes are formatted. */
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, csv, parseRanges } from './parse.js';

/** The variables of {@link MetaConfig}. */
export const metaEnv = z.object({
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
});

/** The slice of the app config this group fills. */
export interface MetaConfig {
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
}

/** Maps the parsed variables to {@link MetaConfig}; the default engine must have its endpoints. */
export function parseMetaConfig(e: z.infer<typeof metaEnv>, dataDir: string): MetaConfig {
  if (e.META_ENGINE === 'etcd' && !e.ETCD_ENDPOINTS) throw new ConfigError(['META_ENGINE: "etcd" needs ETCD_ENDPOINTS']);
  if (e.META_ENGINE === 'tikv' && !e.TIKV_PD_ENDPOINTS) throw new ConfigError(['META_ENGINE: "tikv" needs TIKV_PD_ENDPOINTS']);
  if (e.META_ENGINE === 'redis' && !e.REDIS_META_URL) throw new ConfigError(['META_ENGINE: "redis" needs REDIS_META_URL']);
  return {
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
  };
}
