/**
 * A volume's quota as a create or an adoption asks for it: defaults and the cross-field rules the
 * OpenAPI schema cannot express, the limits an adopted volume already enforces, and the quota's
 * JSON form that the idempotency hash of a create covers.
 */
import { checkQuota, type PlatformCeiling } from '../quotas/quota-check.js';
import type { Quota } from './volume.js';

/** The quota of a create body, as numbers the schema validated. */
export interface QuotaInput {
  softBytes?: number;
  hardBytes?: number;
  softInodes?: number;
  hardInodes?: number;
  graceSeconds?: number;
}

/** Applies the default grace and checks soft below hard and the platform ceiling (400 otherwise). */
export function normaliseQuota(q: QuotaInput = {}, ceiling: PlatformCeiling & { defaultGraceSeconds: number }): Quota {
  const b = (x: number | undefined) => (x === undefined ? null : BigInt(x));
  const quota: Quota = {
    softBytes: b(q.softBytes),
    hardBytes: b(q.hardBytes),
    softInodes: b(q.softInodes),
    hardInodes: b(q.hardInodes),
    graceSeconds: q.graceSeconds ?? ceiling.defaultGraceSeconds,
  };
  checkQuota(quota, ceiling);
  return quota;
}

/**
 * The quota of an adopted volume: hard limits the request leaves unset take the Capacity/Inodes
 * the volume's setting already enforces, when that quota is valid (soft below hard, under the
 * platform ceiling); otherwise the request's quota as it is.
 */
export function keepExistingLimits(q: Quota, existing: { capacity: bigint; inodes: bigint }, ceiling: PlatformCeiling): Quota {
  const kept: Quota = {
    ...q,
    hardBytes: q.hardBytes ?? (existing.capacity > 0n ? existing.capacity : null),
    hardInodes: q.hardInodes ?? (existing.inodes > 0n ? existing.inodes : null),
  };
  try {
    checkQuota(kept, ceiling);
    return kept;
  } catch {
    return q;
  }
}

/** The quota with its numbers as strings: what a create's idempotency hash covers. */
export function presentQuota(q: Quota): Record<string, unknown> {
  return Object.fromEntries(Object.entries(q).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]));
}
