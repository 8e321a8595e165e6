/** The API shape of a directory quota (numbers, not bigints: counts are capped at 2^53-1 on input). */
import type { DirQuotaRecord } from '../meta/volume-metadata.js';
import type { DirectoryQuota } from './directory-quota.js';

const n = (x: bigint | null) => (x === null ? null : Number(x));

/** What the API says of the JuiceFS record next to the row. */
export interface RecordView {
  /** The record as just read; undefined when it was not read (the read failed, or no native quotas). */
  record?: DirQuotaRecord | null;
  /** Why the record could not be read. */
  readError?: string | null;
}

/** Renders a quota; `deleted` marks one whose JuiceFS record and row are gone. */
export function presentDirectoryQuota(q: DirectoryQuota, v: RecordView = {}, deleted = false) {
  const r = v.record;
  const walked = q.native ? null : q.walkUsage;
  return {
    id: q.id,
    tenantId: q.tenantId,
    volumeId: q.volumeId,
    kind: q.kind,
    // Lossy for non-UTF-8 names: `pathBase64` is the exact bytes. User/group quotas: `uid:N`, `gid:N`.
    path: q.kind === 'dir' ? q.path.toString('utf8') : `${q.kind === 'user' ? 'uid' : 'gid'}:${q.inode}`,
    pathBase64: q.path.toString('base64'),
    inode: Number(q.inode),
    quota: { softBytes: n(q.quota.softBytes), hardBytes: n(q.quota.hardBytes), softInodes: n(q.quota.softInodes), hardInodes: n(q.quota.hardInodes), graceSeconds: q.quota.graceSeconds },
    ownerSub: q.ownerSub,
    managed: q.managed,
    native: q.native,
    state: deleted ? ('deleted' as const) : q.state,
    usage: r
      ? { usedBytes: Number(r.usedSpace), usedInodes: Number(r.usedInodes), source: 'juicefs' as const }
      : walked
        ? { usedBytes: Number(walked.bytes), usedInodes: Number(walked.inodes), source: 'walk' as const }
        : null,
    enforcement: {
      state: q.enforcement.state,
      reason: q.enforcement.reason,
      since: q.enforcement.since.toISOString(),
      graceDeadline: q.enforcement.graceDeadline?.toISOString() ?? null,
      unknownReason: q.enforcement.unknownReason,
      manualFreeze: q.enforcement.manual && { until: q.enforcement.manual.until?.toISOString() ?? null, reason: q.enforcement.manual.reason },
    },
    juicefs: {
      generation: Number(q.generation),
      appliedGeneration: Number(q.appliedGeneration),
      // The record's limits (≤ 0 = unlimited), as read now, else as last written or read.
      maxBytes: r ? Number(r.maxSpace) : q.observed ? Number(q.observed.maxSpace) : null,
      maxInodes: r ? Number(r.maxInodes) : q.observed ? Number(q.observed.maxInodes) : null,
      recordPresent: r === undefined ? null : r !== null,
      lastError: q.lastError ?? v.readError ?? null,
    },
    createdAt: q.createdAt.toISOString(),
    updatedAt: q.updatedAt.toISOString(),
  };
}

/** The presented quota. */
export type DirectoryQuotaView = ReturnType<typeof presentDirectoryQuota>;
