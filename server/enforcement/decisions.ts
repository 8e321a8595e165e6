/**
 * Volumes' side of the decision layer (subject-decision.ts): a state row as an enforced subject,
 * the policy's view of it, whether a decision writes anything, the row a decision leaves; and
 * whether a reading can be trusted. Shared by the pass and the per-volume path.
 */
import type { Reading } from '../quotas/usage-read-model.js';
import { GRACE_WARNING_MS } from './enforcement-notices.js';
import { withGenerations, type StateRow } from './enforcement-store.js';
import type { Current, Decision, Reason, Reading as PolicyReading } from './policy.js';
import { subjectAfter, subjectCurrent, subjectNeedsWrite, type EnforcedSubject } from './subject-decision.js';

/** Drift below these is noise (in-flight writes during a walk), whatever the fraction. */
const MISMATCH_FLOOR = { bytes: 64n << 20n, inodes: 1000n };

/** A state row as an enforced subject (its clamp is the desired JuiceFS Capacity/Inodes, 0 = unlimited). */
export function volumeSubject(s: StateRow): EnforcedSubject<NonNullable<StateRow['manual']>, Reason> {
  const clamp = s.desiredCapacity === null || s.desiredInodes === null ? null : { bytes: s.desiredCapacity, inodes: s.desiredInodes };
  return { state: s.state, since: s.since, reason: s.reason, graceDeadline: s.graceDeadline, unknownReason: s.unknownReason, manual: s.manual, clamp };
}

/** The policy's view of a state row. */
export function policyCurrent(s: StateRow): Current {
  return subjectCurrent(volumeSubject(s));
}

/** Whether a decision changes anything that must be written (the storage rule and a due grace warning included). */
export function needsWrite(cur: StateRow, d: Decision, now: Date, hasStorage: boolean): boolean {
  return subjectNeedsWrite(volumeSubject(cur), d, now, undefined, { storage: { layer: hasStorage, desired: cur.storageDesired }, graceWarningMs: GRACE_WARNING_MS });
}

/**
 * The state row a decision leaves (before {@link desire}): an unknown decision records why and
 * since when; an evaluated one the subject's next view, with the reading that caused a transition.
 */
export function stateAfter(cur: StateRow, d: Decision, reading: PolicyReading, now: Date): StateRow {
  if (d.kind === 'unknown') return { ...cur, unknownReason: d.why, unknownSince: cur.unknownSince ?? now, evaluatedAt: now };
  const s = subjectAfter(volumeSubject(cur), d, now);
  const next: StateRow = {
    ...cur,
    state: s.state,
    reason: s.reason,
    since: s.since,
    graceDeadline: s.graceDeadline,
    manual: s.manual,
    unknownReason: null,
    unknownSince: null,
    desiredCapacity: d.capacity.bytes,
    desiredInodes: d.capacity.inodes,
    evaluatedAt: now,
  };
  if (d.changed && reading.ok) Object.assign(next, { bytes: reading.bytes, inodes: reading.inodes, readAt: reading.readAt });
  return next;
}

/** `next` with its storage rule desired as its state says, and its generations carried on from `cur`. */
export function desire(cur: StateRow, next: StateRow, hasStorage: boolean): StateRow {
  return withGenerations(cur, { ...next, storageDesired: hasStorage && next.state === 'frozen' });
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
