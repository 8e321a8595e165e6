/** The directory quota aggregate: domain types shared by the store, the service and the routes. */
import type { Quota } from '../volumes/volume.js';

/** A directory's quota, or a JuiceFS 1.4 user's or group's (keyed by uid/gid). */
export type QuotaKind = 'dir' | 'user' | 'group';

/** `active`, or `deleting` until the JuiceFS record is gone (then the row goes too). */
export type DirectoryQuotaState = 'active' | 'deleting';

/** What the JuiceFS record held when last written or read (≤ 0 = unlimited). */
export interface ObservedLimits {
  maxSpace: bigint;
  maxInodes: bigint;
}

/** The policy's memory of a quota between passes (the same fields a volume's state row has). */
export interface DirectoryQuotaEnforcement {
  state: 'ok' | 'over_soft' | 'frozen';
  since: Date;
  reason: string | null;
  graceDeadline: Date | null;
  /** Why the last pass could not decide (usage unreadable), or null. */
  unknownReason: string | null;
  manual: { until: Date | null; reason: string } | null;
  /** What JuiceFS must hold instead of the hard limits (a freeze: the usage); null = the hard limits. */
  desired: ObservedLimits | null;
}

/** A quota on one directory of a volume, keyed by the directory's inode. */
export interface DirectoryQuota {
  id: string;
  tenantId: string;
  volumeId: string;
  kind: QuotaKind;
  /** The directory's path as bytes (any JuiceFS name); empty for user/group quotas. */
  path: Buffer;
  inode: bigint;
  quota: Quota;
  /** An engineer's `sub` who may see the quota and ask for more. */
  ownerSub: string | null;
  /** False for a quota found in JuiceFS that Headroom must not change until an admin takes it over. */
  managed: boolean;
  /** Whether JuiceFS enforces the hard limits itself (≥ 1.1 format with DirStats). */
  native: boolean;
  state: DirectoryQuotaState;
  /** Grows with every change of what JuiceFS should hold. */
  generation: bigint;
  appliedGeneration: bigint;
  observed: ObservedLimits | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  enforcement: DirectoryQuotaEnforcement;
  /** The latest walk's figures for the subtree (quotas without native records), or null. */
  walkUsage: { bytes: bigint; inodes: bigint; at: Date } | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A quota's usage as quota requests judge it. */
export interface GrantUsage {
  bytes: bigint;
  inodes: bigint;
}

/** A new row (generation 1, nothing applied yet). */
export type NewDirectoryQuota = Pick<DirectoryQuota, 'id' | 'tenantId' | 'volumeId' | 'path' | 'inode' | 'quota' | 'ownerSub' | 'managed' | 'native'> & {
  /** Default `dir`. */
  kind?: QuotaKind;
  observed?: ObservedLimits | null;
  /** Discovered quotas are born applied: what JuiceFS holds is what the row says. */
  applied?: boolean;
};

/**
 * The limits JuiceFS should hold for a quota: the enforcement's (a freeze clamps them to the
 * usage), else the hard limits, −1 (unlimited, usage still tracked) when there are none.
 */
export function desiredLimits(q: Pick<DirectoryQuota, 'quota'> & { enforcement?: Pick<DirectoryQuotaEnforcement, 'desired'> }): ObservedLimits {
  return q.enforcement?.desired ?? { maxSpace: q.quota.hardBytes ?? -1n, maxInodes: q.quota.hardInodes ?? -1n };
}

/** The initial enforcement of a new quota. */
export const freshEnforcement = (at: Date): DirectoryQuotaEnforcement => ({ state: 'ok', since: at, reason: null, graceDeadline: null, unknownReason: null, manual: null, desired: null });

/** A JuiceFS limit as a Headroom hard limit: ≤ 0 is unlimited. */
export const limitOf = (max: bigint): bigint | null => (max > 0n ? max : null);
