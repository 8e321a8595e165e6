/** The checks every quota passes, however it is set: at creation, by request, by approval. */
import { errors } from '../lib/errors.js';
import type { Quota } from '../volumes/volume.js';

/** The platform-wide ceiling (config `QUOTA_MAX_HARD_*`). */
export interface PlatformCeiling {
  maxHardBytes: bigint;
  maxHardInodes: bigint;
}

/** Throws `quota_invalid` (hard below soft) or `above_platform_ceiling`. */
export function checkQuota(q: Omit<Quota, 'graceSeconds'>, ceiling: PlatformCeiling): void {
  if (q.softBytes !== null && q.hardBytes !== null && q.hardBytes < q.softBytes) {
    throw errors.quotaInvalid(`hardBytes (${q.hardBytes}) must not be below softBytes (${q.softBytes})`);
  }
  if (q.softInodes !== null && q.hardInodes !== null && q.hardInodes < q.softInodes) {
    throw errors.quotaInvalid(`hardInodes (${q.hardInodes}) must not be below softInodes (${q.softInodes})`);
  }
  for (const [k, max] of [
    ['softBytes', ceiling.maxHardBytes],
    ['hardBytes', ceiling.maxHardBytes],
    ['softInodes', ceiling.maxHardInodes],
    ['hardInodes', ceiling.maxHardInodes],
  ] as const) {
    const v = q[k];
    if (v !== null && v > max) throw errors.aboveCeiling(k, v, max);
  }
}
