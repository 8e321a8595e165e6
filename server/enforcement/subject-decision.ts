/**
 * The decision layer around the pure policy, once for every kind of enforced subject (a volume,
 * a directory or user/group quota): what the policy is told of a subject, what a decision leaves
 * on it, whether that is worth a write, and which transition it is. Each kind maps its own row to
 * an {@link EnforcedSubject} and back; what only one kind has (a volume's storage rule, its grace
 * warning) comes in as an input, so the rules themselves are written once and tested once.
 */
import type { Current, Decision, EnforcementState, Reason } from './policy.js';

/** Bytes and inodes an enforcement layer must hold (≤ 0 = unlimited). */
export interface Clamp {
  bytes: bigint;
  inodes: bigint;
}

/** An admin freeze as the policy needs it; kinds may carry more (who, when). */
export interface ManualFreeze {
  until: Date | null;
  reason: string;
}

/** An evaluated decision (the policy trusted the reading). */
export type EvaluatedDecision = Extract<Decision, { kind: 'evaluated' }>;

/** What every kind of subject remembers of its enforcement between decisions. */
export interface EnforcedSubject<M extends ManualFreeze = ManualFreeze, R extends string | null = Reason> {
  state: EnforcementState;
  since: Date;
  /** Why the subject entered its state. */
  reason: R;
  graceDeadline: Date | null;
  /** Why the last decision could not be taken (usage unreadable or untrusted), or null. */
  unknownReason: string | null;
  manual: M | null;
  /** What the enforcement layer must hold; null = nothing decided yet, or the subject's own hard limits. */
  clamp: Clamp | null;
}

/** Which kind of transition a change of state is (each kind names its own notice for it). */
export type Transition = 'frozen' | 'unfrozen' | 'soft_exceeded';

/** What only some kinds weigh when deciding whether to write. */
export interface WriteInputs {
  /** Volumes: whether they have a storage layer, and whether its freeze rule is desired now. */
  storage?: { layer: boolean; desired: boolean };
  /** Volumes: inside this window before the grace deadline the warning notice is due, so the decision is written. */
  graceWarningMs?: number;
}

/** What the layer holds after an evaluated decision: by default the decision's capacity (volumes). */
export type ClampOf = (d: EvaluatedDecision) => Clamp | null;

const capacityClamp: ClampOf = (d) => d.capacity;

/** The policy's view of a subject. */
export function subjectCurrent(s: EnforcedSubject<ManualFreeze, string | null>): Current {
  return { state: s.state, since: s.since, graceDeadline: s.graceDeadline, manualFreeze: s.manual && { until: s.manual.until, reason: s.manual.reason } };
}

/**
 * The subject a decision leaves. An unknown decision only records why; an evaluated one clears
 * that, takes the decision's state, deadline and clamp, restarts `since` when the state changes,
 * drops an expired manual freeze, and takes the decision's reason only on a transition (the
 * reason says why the state was entered, not what the last reading showed).
 */
export function subjectAfter<M extends ManualFreeze, R extends string | null>(cur: EnforcedSubject<M, R>, d: Decision, now: Date, clampOf: ClampOf = capacityClamp): EnforcedSubject<M, R | Reason> {
  if (d.kind === 'unknown') return { ...cur, unknownReason: d.why };
  return {
    state: d.next,
    since: d.next !== cur.state ? now : cur.since,
    reason: d.changed ? d.reason : cur.reason,
    graceDeadline: d.graceDeadline,
    unknownReason: null,
    manual: d.clearManual ? null : cur.manual,
    clamp: clampOf(d),
  };
}

/**
 * Whether a decision changes anything worth writing: the state or manual freeze (`changed`), the
 * unknown reason, the grace deadline, the clamp, and, with their inputs, a volume's storage rule
 * and a due grace warning. A new reason alone is not (it would rewrite every row each pass).
 */
export function subjectNeedsWrite(cur: EnforcedSubject<ManualFreeze, string | null>, d: Decision, now: Date, clampOf: ClampOf = capacityClamp, inputs: WriteInputs = {}): boolean {
  if (d.kind === 'unknown') return cur.unknownReason !== d.why;
  if (cur.unknownReason !== null || d.changed) return true;
  if (inputs.storage && inputs.storage.desired !== (inputs.storage.layer && d.next === 'frozen')) return true;
  if (!sameClamp(cur.clamp, clampOf(d))) return true;
  if ((cur.graceDeadline?.getTime() ?? null) !== (d.graceDeadline?.getTime() ?? null)) return true;
  return inputs.graceWarningMs !== undefined && graceWarningDue(d.next, d.graceDeadline, now, inputs.graceWarningMs);
}

/**
 * The transition from `cur` to `next`, if any: frozen (entering it, or an admin freeze laid over
 * an automatic one), unfrozen (leaving it, whatever the state it lands in), soft exceeded (from ok).
 */
export function subjectTransition(cur: Pick<EnforcedSubject, 'state' | 'manual'>, next: Pick<EnforcedSubject, 'state' | 'manual'>): Transition | null {
  if (next.state === 'frozen' && (cur.state !== 'frozen' || (next.manual !== null && cur.manual === null))) return 'frozen';
  if (cur.state === 'frozen' && next.state !== 'frozen') return 'unfrozen';
  if (cur.state === 'ok' && next.state === 'over_soft') return 'soft_exceeded';
  return null;
}

/** Whether a subject in `state` with `deadline` is inside the last `windowMs` of its grace period. */
export function graceWarningDue(state: EnforcementState, deadline: Date | null, now: Date, windowMs: number): boolean {
  return state === 'over_soft' && deadline !== null && deadline.getTime() - now.getTime() <= windowMs;
}

/** Whether two clamps say the same (null only equals null; ≤ 0 is unlimited, whichever a version wrote). */
export function sameClamp(a: Clamp | null, b: Clamp | null): boolean {
  if (a === null || b === null) return a === b;
  const norm = (x: bigint) => (x > 0n ? x : -1n);
  return norm(a.bytes) === norm(b.bytes) && norm(a.inodes) === norm(b.inodes);
}
