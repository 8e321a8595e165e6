/** SeaweedFS (one bucket per volume) and the keys that seal tenants' storage secrets. */
import { z } from 'zod';
import { ConfigError, csv } from './parse.js';

/** The variables of {@link StorageConfig}. */
export const storageEnv = z.object({
  SEAWEEDFS_S3_ENDPOINT: z.string().url().optional().describe('SeaweedFS S3 gateway (http://s3:8333); with the other SEAWEEDFS_* it gives every new volume its own bucket'),
  SEAWEEDFS_IAM_ENDPOINT: z.string().url().optional().describe('IAM API endpoint; default the S3 endpoint (embedded IAM, SeaweedFS >= 4.03, -s3.iam.readOnly=false)'),
  SEAWEEDFS_FILER_URL: z.string().url().optional().describe('SeaweedFS filer HTTP (http://filer:8888), for filer.conf freeze rules'),
  SEAWEEDFS_MASTER_URL: z.string().url().optional().describe('SeaweedFS master HTTP (http://master:9333), for per-bucket usage'),
  SEAWEEDFS_ACCESS_KEY: z.string().optional().describe('Access key of a SeaweedFS identity with the Admin action'),
  SEAWEEDFS_SECRET_KEY: z.string().optional().describe('Its secret key'),
  STORAGE_SECRET_KEY: z.string().min(32).optional().describe("Key that encrypts tenants' storage secret keys at rest; unset = random, kept in DATA_DIR/storage-secret-key"),
  STORAGE_SECRET_KEY_PREVIOUS: csv
    .refine((keys) => keys.every((k) => k.length >= 32), 'each key must be at least 32 characters')
    .optional()
    .describe('Earlier STORAGE_SECRET_KEY values (comma-separated) still accepted for opening sealed storage secrets while `npm run rekey` re-seals them with the current key'),
  STORAGE_KEY_OVERLAP_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(90 * 86_400)
    .default(86_400)
    .describe("How long a tenant's previous storage key stays valid after a rotation; the first reconcile pass after that revokes it"),
  STORAGE_GAP_FLOOR_BYTES: z.coerce
    .bigint()
    .nonnegative()
    .default(1n << 30n)
    .describe('Storage-vs-metadata usage gaps below this (and below 20 %) are not reported'),
});

/** The slices of the app config this group fills. */
export interface StorageConfig {
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
}

type StorageEnv = z.infer<typeof storageEnv>;

/** Maps the parsed variables to {@link StorageConfig}. */
export function parseStorageConfig(e: StorageEnv): StorageConfig {
  return {
    storage: seaweedOf(e),
    storageSecretKey: e.STORAGE_SECRET_KEY,
    storageGapFloor: e.STORAGE_GAP_FLOOR_BYTES,
    storageKeyOverlapMs: e.STORAGE_KEY_OVERLAP_SECONDS * 1000,
    storageSecretKeysPrevious: e.STORAGE_SECRET_KEY_PREVIOUS ?? [],
  };
}

/** The SeaweedFS settings: all of them, or none (then volumes use local `file` storage). */
function seaweedOf(e: StorageEnv): StorageConfig['storage'] {
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
