/**
 * The JuiceFS records of many directory, user and group quotas, read in one batch per kind (as
 * volume counters are): what a pass decides on and what the API shows next to each row.
 */
import { dirQuotaKey, userGroupQuotaKey, type DirQuotaMetadata, type DirQuotaRecord, type UserGroupKind, type UserGroupQuotaMetadata, type VolumeRef } from '../meta/volume-metadata.js';
import type { DirectoryQuota } from './directory-quota.js';

/** The record reads a batch needs; user/group reads only where the layouts have them. */
export type QuotaRecordMetadata = Pick<DirQuotaMetadata, 'readDirQuotasMany'> & Partial<Pick<UserGroupQuotaMetadata, 'readUserGroupQuotasMany'>>;

/**
 * The records of `items` by quota row id: a record, null when the engine holds none, or the
 * error of a batch that failed (every quota of that batch gets it). A quota the engine gave no
 * answer for is left out, so each caller says what that means to it.
 */
export async function readQuotaRecords(metadata: QuotaRecordMetadata, items: { quota: DirectoryQuota; volume: VolumeRef }[]): Promise<Map<string, DirQuotaRecord | null | Error>> {
  const dirs = items.filter((i) => i.quota.kind === 'dir');
  const owners = items.filter((i) => i.quota.kind !== 'dir');
  const dirKey = (i: (typeof items)[number]) => dirQuotaKey(i.volume.id, i.quota.inode);
  const ownerKey = (i: (typeof items)[number]) => userGroupQuotaKey(i.volume.id, i.quota.kind as UserGroupKind, i.quota.inode);
  const failAll = (batch: typeof items, key: typeof dirKey) => (err: Error) => new Map(batch.map((i) => [key(i), err]));
  const d: Map<string, DirQuotaRecord | null | Error> = dirs.length
    ? await metadata.readDirQuotasMany(dirs.map((i) => ({ volume: i.volume, inode: i.quota.inode }))).catch(failAll(dirs, dirKey))
    : new Map();
  const read = metadata.readUserGroupQuotasMany;
  const u: Map<string, DirQuotaRecord | null | Error> =
    owners.length && read
      ? await read
          .call(
            metadata,
            owners.map((i) => ({ volume: i.volume, kind: i.quota.kind as UserGroupKind, id: i.quota.inode })),
          )
          .catch(failAll(owners, ownerKey))
      : new Map();
  const out = new Map<string, DirQuotaRecord | null | Error>();
  for (const i of dirs) if (d.has(dirKey(i))) out.set(i.quota.id, d.get(dirKey(i))!);
  for (const i of owners) if (u.has(ownerKey(i))) out.set(i.quota.id, u.get(ownerKey(i))!);
  return out;
}
