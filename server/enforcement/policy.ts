/**
 * The enforcement policy as a pure function: given a volume's quota, a usage reading and its
 * current enforcement state, decide the next state and what must happen. No I/O, so every
 * transition is unit-tested and the service around it only carries decisions out.
 *
 *   ok ──over soft──▶ over_soft ──grace expired while over soft──▶ frozen
 *    │                    │                                          ▲
 *    └──────over hard─────┴──────────────over hard───────────────────┘
 *   frozen/over_soft ──below soft minus the hysteresis margin──▶ ok
 *
 * A manual freeze (admin override) holds until it expires or an admin lifts it.
 */

/** Enforcement states of a volume. */
export type EnforcementState = 'ok' | 'over_soft' | 'frozen';

/** Limits in bytes and inodes; null = unlimited. */
export interface Limits {
  softBytes: bigint | null;
  hardBytes: bigint | null;
  softInodes: bigint | null;
  hardInodes: bigint | null;
  graceSeconds: number;
}

/** A usage reading; `ok: false` or an old `readAt` means it must not be acted on. */
export type Reading = { ok: true; bytes: bigint; inodes: bigint; readAt: Date } | { ok: false; error: string };

/** What the policy remembers about a volume between runs. */
export interface Current {
  state: EnforcementState;
  since: Date;
  graceDeadline: Date | null;
  manualFreeze: { until: Date | null; reason: string } | null;
}

/** Tunables. */
export interface PolicyOptions {
  /** Fraction below the soft limit usage must fall to leave over_soft/frozen (default 0.02). */
  hysteresis: number;
  /** Oldest reading acted upon, in ms. */
  maxReadingAgeMs: number;
}

/** Why a state was entered, for the "why am I frozen?" answer. */
export type Reason =
  | 'within_limits'
  | 'soft_bytes_exceeded'
  | 'soft_inodes_exceeded'
  | 'hard_bytes_reached'
  | 'hard_inodes_reached'
  | 'grace_expired'
  | 'manual_freeze'
  | 'manual_freeze_expired'
  | 'manual_unfreeze'
  | 'below_release_line';

/** The decision for one volume. */
export type Decision =
  | { kind: 'unknown'; why: string }
  | {
      kind: 'evaluated';
      next: EnforcementState;
      changed: boolean;
      reason: Reason;
      graceDeadline: Date | null;
      /** Clear an expired manual freeze. */
      clearManual: boolean;
      /** What JuiceFS's setting must say afterwards: frozen = current usage, else the hard limits (0 = unlimited). */
      capacity: { bytes: bigint; inodes: bigint };
    };

/** Decides the next state of one volume. */
export function decide(limits: Limits, reading: Reading, cur: Current, now: Date, opts: PolicyOptions): Decision {
  if (!reading.ok) return { kind: 'unknown', why: `usage could not be read: ${reading.error}` };
  const age = now.getTime() - reading.readAt.getTime();
  // The message names the reading, not its age, so it stays the same while the reading does.
  if (age > opts.maxReadingAgeMs) return { kind: 'unknown', why: `the latest usage reading (${reading.readAt.toISOString()}) is older than the allowed ${Math.round(opts.maxReadingAgeMs / 1000)} s` };

  const hardCapacity = { bytes: limits.hardBytes ?? 0n, inodes: limits.hardInodes ?? 0n };
  const frozen = frozenCapacity(reading);
  const result = (next: EnforcementState, reason: Reason, graceDeadline: Date | null, clearManual = false): Decision => ({
    kind: 'evaluated',
    next,
    changed: next !== cur.state || clearManual,
    reason,
    graceDeadline,
    clearManual,
    capacity: next === 'frozen' ? frozen : hardCapacity,
  });

  const manualActive = cur.manualFreeze && (cur.manualFreeze.until === null || cur.manualFreeze.until > now);
  if (manualActive) return result('frozen', 'manual_freeze', null);
  const manualExpired = cur.manualFreeze !== null;

  const hard = overHard(limits, reading);
  if (hard) return result('frozen', hard, null, manualExpired);
  const soft = overSoft(limits, reading);
  const belowRelease = underRelease(limits, reading, opts.hysteresis);

  // Leaving a manual freeze, start from "ok" and re-evaluate so the volume lands where usage says.
  const state: EnforcementState = manualExpired ? 'ok' : cur.state;
  switch (state) {
    case 'ok':
      if (soft) return result('over_soft', soft, new Date(now.getTime() + limits.graceSeconds * 1000), manualExpired);
      return result('ok', manualExpired ? 'manual_freeze_expired' : 'within_limits', null, manualExpired);
    case 'over_soft': {
      if (belowRelease) return result('ok', 'below_release_line', null);
      const deadline = cur.graceDeadline ?? new Date(now.getTime() + limits.graceSeconds * 1000);
      if (soft && now >= deadline) return result('frozen', 'grace_expired', deadline);
      return result('over_soft', soft || 'soft_bytes_exceeded', deadline);
    }
    case 'frozen':
      if (belowRelease) return result('ok', 'below_release_line', null);
      return result('frozen', 'grace_expired', cur.graceDeadline);
  }
}

function overHard(l: Limits, r: { bytes: bigint; inodes: bigint }): Reason | null {
  if (l.hardBytes !== null && r.bytes >= l.hardBytes) return 'hard_bytes_reached';
  if (l.hardInodes !== null && r.inodes >= l.hardInodes) return 'hard_inodes_reached';
  return null;
}

function overSoft(l: Limits, r: { bytes: bigint; inodes: bigint }): Reason | null {
  if (l.softBytes !== null && r.bytes > l.softBytes) return 'soft_bytes_exceeded';
  if (l.softInodes !== null && r.inodes > l.softInodes) return 'soft_inodes_exceeded';
  return null;
}

/**
 * The release line: usage must fall below it (in both dimensions) to leave over_soft or frozen.
 * It is the soft limit (or, without one, the hard limit) minus the hysteresis margin; null =
 * no limit in that dimension.
 */
export function releaseLine(l: Limits, hysteresis: number): { bytes: bigint | null; inodes: bigint | null } {
  const line = (soft: bigint | null, hard: bigint | null) => {
    const base = soft ?? hard;
    if (base === null) return null;
    return base - (base * BigInt(Math.round(hysteresis * 1_000_000))) / 1_000_000n;
  };
  return { bytes: line(l.softBytes, l.hardBytes), inodes: line(l.softInodes, l.hardInodes) };
}

/** How much must be deleted to get below the release line (0 when already below). */
export function toRelease(l: Limits, r: { bytes: bigint; inodes: bigint }, hysteresis: number): { bytes: bigint; inodes: bigint } {
  const line = releaseLine(l, hysteresis);
  // Strictly below the line: one more byte/inode than the difference.
  const need = (used: bigint, at: bigint | null) => (at === null || used < at ? 0n : used - at + 1n);
  return { bytes: need(r.bytes, line.bytes), inodes: need(r.inodes, line.inodes) };
}

function underRelease(l: Limits, r: { bytes: bigint; inodes: bigint }, hysteresis: number): boolean {
  const { bytes: b, inodes: i } = releaseLine(l, hysteresis);
  return (b === null || r.bytes < b) && (i === null || r.inodes < i);
}

/** What JuiceFS is told while frozen: the current usage, but never 0, which it reads as "unlimited". */
export function frozenCapacity(usage: { bytes: bigint; inodes: bigint }): { bytes: bigint; inodes: bigint } {
  return { bytes: max1(usage.bytes), inodes: max1(usage.inodes) };
}

function max1(x: bigint): bigint {
  return x > 0n ? x : 1n;
}

/** The quota fields the policy reads (a Volume has them). */
export interface QuotaOf {
  quota: { softBytes: bigint | null; hardBytes: bigint | null; softInodes: bigint | null; hardInodes: bigint | null; graceSeconds: number };
}

/** The policy's view of a volume's quota. */
export function limitsOf(v: QuotaOf): Limits {
  return { softBytes: v.quota.softBytes, hardBytes: v.quota.hardBytes, softInodes: v.quota.softInodes, hardInodes: v.quota.hardInodes, graceSeconds: v.quota.graceSeconds };
}

/** The limits as decimal strings (null = unlimited), as transitions and notices record them. */
export function jsonLimits(v: QuotaOf) {
  const s = (x: bigint | null) => (x === null ? null : String(x));
  return { softBytes: s(v.quota.softBytes), hardBytes: s(v.quota.hardBytes), softInodes: s(v.quota.softInodes), hardInodes: s(v.quota.hardInodes) };
}
