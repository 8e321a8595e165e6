/**
 * Small pure pieces shared by the pass and the per-volume path: the policy's view of a state
 * row, whether a decision writes anything, and whether a reading can be trusted.
 */
import type { Reading } from '../quotas/usage-store.js';
import { GRACE_WARNING_MS } from './enforcement-notices.js';
import type { StateRow } from './enforcement-store.js';
import type { Decision, Reading as PolicyReading } from './policy.js';

/** Drift below these is noise (in-flight writes during a walk), whatever the fraction. */
const MISMATCH_FLOOR = { bytes: 64n << 20n, inodes: 1000n };

/** The policy's view of a state row. */
export function policyCurrent(s: StateRow) {
  return { state: s.state, since: s.since, graceDeadline: s.graceDeadline, manualFreeze: s.manual && { until: s.manual.until, reason: s.manual.reason } };
}

/** Whether a decision changes anything that must be written. */
export function needsWrite(cur: StateRow, d: Decision, now: Date, hasStorage: boolean): boolean {
  if (d.kind === 'unknown') return cur.unknownReason !== d.why;
  if (cur.unknownReason !== null || d.changed) return true;
  if (cur.storageDesired !== (hasStorage && d.next === 'frozen')) return true;
  if (cur.desiredCapacity !== d.capacity.bytes || cur.desiredInodes !== d.capacity.inodes) return true;
  if ((cur.graceDeadline?.getTime() ?? null) !== (d.graceDeadline?.getTime() ?? null)) return true;
  // Inside the last 24 h of grace: the warning notice is due (deduplicated by its event key).
  return d.next === 'over_soft' && d.graceDeadline !== null && d.graceDeadline.getTime() - now.getTime() <= GRACE_WARNING_MS;
}

/** A stored reading as the policy reads it. */
export function toPolicy(r: Reading): PolicyReading {
  return r.ok ? { ok: true, bytes: r.bytes, inodes: r.inodes, readAt: r.at } : { ok: false, error: r.error };
}

/** A reading is not acted upon when the last walk says the counters cannot be trusted. */
export function trustReading(r: PolicyReading, walk: { finishedAt: Date; result: Record<string, unknown> } | undefined, tolerance: number): PolicyReading {
  if (!r.ok || !walk) return r;
  const m = walk.result.mismatch as { bytesDelta: string; inodesDelta: string } | null | undefined;
  if (!m) return r;
  const db = abs(BigInt(m.bytesDelta));
  const di = abs(BigInt(m.inodesDelta));
  const tol = (used: bigint) => BigInt(Math.floor(Number(used) * tolerance));
  if ((db > MISMATCH_FLOOR.bytes && db > tol(r.bytes)) || (di > MISMATCH_FLOOR.inodes && di > tol(r.inodes))) {
    return { ok: false, error: `the walk of ${walk.finishedAt.toISOString()} disagrees with the counters by ${m.bytesDelta} bytes and ${m.inodesDelta} inodes` };
  }
  return r;
}

const abs = (x: bigint) => (x < 0n ? -x : x);
