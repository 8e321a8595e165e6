import { describe, expect, it } from 'vitest';
import { enforcementAfter } from '../../../server/directory-quotas/directory-quota-enforcer.js';
import type { DirectoryQuota } from '../../../server/directory-quotas/directory-quota.js';
import { needsWrite, policyCurrent, stateAfter } from '../../../server/enforcement/decisions.js';
import { GRACE_WARNING_MS, transitionNoticeType } from '../../../server/enforcement/enforcement-notices.js';
import { initialState, type StateRow } from '../../../server/enforcement/enforcement-store.js';
import type { Decision } from '../../../server/enforcement/policy.js';
import { sameClamp, subjectAfter, subjectCurrent, subjectNeedsWrite, subjectTransition, type ClampOf, type EnforcedSubject, type ManualFreeze } from '../../../server/enforcement/subject-decision.js';
import { evaluated } from '../../support/unit.js';

const t0 = new Date('2026-12-01T00:00:00Z');
const now = new Date('2026-12-01T12:00:00Z');
const hours = (h: number) => new Date(now.getTime() + h * 3_600_000);
const manual: ManualFreeze = { until: null, reason: 'audit' };

const unknown = (why: string): Decision => ({ kind: 'unknown', why });

/** A subject as volumes keep it: the clamp is always the capacity JuiceFS is told. */
const volume = (over: Partial<EnforcedSubject> = {}): EnforcedSubject => ({
  state: 'ok',
  since: t0,
  reason: 'within_limits',
  graceDeadline: null,
  unknownReason: null,
  manual: null,
  clamp: { bytes: 100n, inodes: 0n },
  ...over,
});
/** A subject as directory quotas keep it: no clamp but while frozen (the hard limits otherwise). */
const directory = (over: Partial<EnforcedSubject<ManualFreeze, string | null>> = {}): EnforcedSubject<ManualFreeze, string | null> => ({ ...volume(), reason: null, clamp: null, ...over });
const dirClamp: ClampOf = (d) => (d.next === 'frozen' ? d.capacity : null);

describe('subjectTransition', () => {
  const t = (from: EnforcedSubject['state'], to: EnforcedSubject['state'], m: { from?: ManualFreeze | null; to?: ManualFreeze | null } = {}) =>
    subjectTransition({ state: from, manual: m.from ?? null }, { state: to, manual: m.to ?? null });

  it('names entering a freeze, from ok or over soft', () => {
    expect(t('ok', 'frozen')).toBe('frozen');
    expect(t('over_soft', 'frozen')).toBe('frozen');
  });

  it('names an admin freeze laid over an automatic one, but not one renewed or held', () => {
    expect(t('frozen', 'frozen', { to: manual })).toBe('frozen');
    expect(t('frozen', 'frozen', { from: manual, to: { ...manual, reason: 'again' } })).toBeNull();
    expect(t('frozen', 'frozen', { from: manual, to: manual })).toBeNull();
    expect(t('frozen', 'frozen')).toBeNull();
  });

  it('names leaving a freeze, wherever it lands', () => {
    expect(t('frozen', 'ok')).toBe('unfrozen');
    expect(t('frozen', 'over_soft', { from: manual })).toBe('unfrozen');
  });

  it('names going over soft from ok only', () => {
    expect(t('ok', 'over_soft')).toBe('soft_exceeded');
    expect(t('over_soft', 'over_soft')).toBeNull();
  });

  it('names nothing else', () => {
    expect(t('ok', 'ok')).toBeNull();
    expect(t('over_soft', 'ok')).toBeNull();
  });

  it('gives volumes their notice types', () => {
    const row = (state: StateRow['state'], m: StateRow['manual'] = null) => ({ state, manual: m });
    const admin = { ...manual, by: 'alice', at: t0 };
    expect(transitionNoticeType(row('ok'), row('frozen'))).toBe('quota.frozen');
    expect(transitionNoticeType(row('frozen'), row('frozen', admin))).toBe('quota.frozen');
    expect(transitionNoticeType(row('frozen', admin), row('over_soft'))).toBe('quota.unfrozen');
    expect(transitionNoticeType(row('ok'), row('over_soft'))).toBe('quota.soft_exceeded');
    expect(transitionNoticeType(row('over_soft'), row('ok'))).toBeNull();
  });
});

describe('subjectCurrent', () => {
  it('tells the policy the state, deadline and the manual freeze (only its until and reason)', () => {
    const s = volume({ state: 'frozen', graceDeadline: hours(1), manual: { ...manual, by: 'alice', at: t0 } as ManualFreeze });
    expect(subjectCurrent(s)).toEqual({ state: 'frozen', since: t0, graceDeadline: hours(1), manualFreeze: manual });
    expect(subjectCurrent(volume()).manualFreeze).toBeNull();
  });
});

describe('subjectAfter', () => {
  it('records only why an unknown decision could not be taken', () => {
    const cur = volume({ state: 'over_soft', graceDeadline: hours(5) });
    expect(subjectAfter(cur, unknown('hung'), now)).toEqual({ ...cur, unknownReason: 'hung' });
  });

  it('takes a transition: state, reason, deadline and clamp, restarting since, clearing unknown', () => {
    const d = evaluated({ next: 'over_soft', changed: true, reason: 'soft_bytes_exceeded', graceDeadline: hours(24) });
    expect(subjectAfter(volume({ unknownReason: 'was hung' }), d, now)).toEqual({
      state: 'over_soft',
      since: now,
      reason: 'soft_bytes_exceeded',
      graceDeadline: hours(24),
      unknownReason: null,
      manual: null,
      clamp: { bytes: 100n, inodes: 0n },
    });
  });

  it('keeps since and the reason the state was entered for when the state holds', () => {
    const cur = volume({ state: 'frozen', reason: 'hard_bytes_reached', clamp: { bytes: 120n, inodes: 9n } });
    const s = subjectAfter(cur, evaluated({ next: 'frozen', reason: 'grace_expired', capacity: { bytes: 95n, inodes: 9n } }), now);
    expect(s).toMatchObject({ state: 'frozen', since: t0, reason: 'hard_bytes_reached', clamp: { bytes: 95n, inodes: 9n } });
  });

  it('drops an expired manual freeze, and keeps one that holds', () => {
    const cur = volume({ state: 'frozen', reason: 'manual_freeze', manual });
    expect(subjectAfter(cur, evaluated({ changed: true, clearManual: true, reason: 'manual_freeze_expired' }), now)).toMatchObject({ state: 'ok', since: now, manual: null });
    expect(subjectAfter(cur, evaluated({ next: 'frozen', reason: 'manual_freeze' }), now).manual).toBe(manual);
  });

  it("takes the kind's clamp: a directory's is null unless frozen", () => {
    expect(subjectAfter(directory(), evaluated({ capacity: { bytes: 500n, inodes: 0n } }), now, dirClamp).clamp).toBeNull();
    expect(subjectAfter(directory(), evaluated({ next: 'frozen', changed: true, reason: 'hard_bytes_reached', capacity: { bytes: 90n, inodes: 3n } }), now, dirClamp).clamp).toEqual({
      bytes: 90n,
      inodes: 3n,
    });
  });
});

describe('subjectNeedsWrite, for a volume', () => {
  const row = (over: Partial<StateRow> = {}): StateRow => ({ ...initialState('vol_1', 'acme', t0), desiredCapacity: 100n, desiredInodes: 0n, ...over });

  it('writes a new unknown reason, not the same one again', () => {
    expect(needsWrite(row(), unknown('hung'), now, false)).toBe(true);
    expect(needsWrite(row({ unknownReason: 'hung' }), unknown('hung'), now, false)).toBe(false);
    expect(needsWrite(row({ unknownReason: 'hung' }), unknown('still hung'), now, false)).toBe(true);
  });

  it('writes a transition, and a decision that trusts an unknown volume again', () => {
    expect(needsWrite(row(), evaluated({ next: 'over_soft', changed: true }), now, false)).toBe(true);
    expect(needsWrite(row({ unknownReason: 'hung' }), evaluated(), now, false)).toBe(true);
  });

  it('writes nothing when nothing but the reason changes', () => {
    expect(needsWrite(row(), evaluated({ reason: 'below_release_line' }), now, false)).toBe(false);
  });

  it('writes a new capacity or deadline, and the first capacity of a volume', () => {
    expect(needsWrite(row(), evaluated({ capacity: { bytes: 200n, inodes: 0n } }), now, false)).toBe(true);
    expect(needsWrite(row({ state: 'over_soft', graceDeadline: hours(30) }), evaluated({ next: 'over_soft', graceDeadline: hours(31) }), now, false)).toBe(true);
    expect(needsWrite(row({ desiredCapacity: null, desiredInodes: null }), evaluated(), now, false)).toBe(true);
  });

  it('writes the storage rule when the volume has a storage layer and it is not as desired', () => {
    const frozen = row({ state: 'frozen', reason: 'hard_bytes_reached' });
    const d = evaluated({ next: 'frozen', reason: 'hard_bytes_reached' });
    expect(needsWrite(frozen, d, now, true)).toBe(true);
    expect(needsWrite({ ...frozen, storageDesired: true }, d, now, true)).toBe(false);
    expect(needsWrite(frozen, d, now, false)).toBe(false);
    expect(needsWrite(row({ storageDesired: true }), evaluated(), now, true)).toBe(true);
  });

  it('writes inside the grace warning window (the warning is due), not before it', () => {
    const within = new Date(now.getTime() + GRACE_WARNING_MS);
    const after = new Date(now.getTime() + GRACE_WARNING_MS + 1);
    expect(needsWrite(row({ state: 'over_soft', graceDeadline: within }), evaluated({ next: 'over_soft', graceDeadline: within }), now, false)).toBe(true);
    expect(needsWrite(row({ state: 'over_soft', graceDeadline: after }), evaluated({ next: 'over_soft', graceDeadline: after }), now, false)).toBe(false);
  });

  it('reads the row as the policy does, and leaves the row the decision says', () => {
    const admin = { ...manual, by: 'alice', at: t0 };
    expect(policyCurrent(row({ state: 'frozen', manual: admin }))).toMatchObject({ state: 'frozen', manualFreeze: manual });
    const reading = { ok: true as const, bytes: 95n, inodes: 4n, readAt: now };
    const next = stateAfter(row({ unknownReason: 'hung', unknownSince: t0 }), evaluated({ next: 'over_soft', changed: true, reason: 'soft_bytes_exceeded', graceDeadline: hours(1) }), reading, now);
    expect(next).toMatchObject({ state: 'over_soft', since: now, reason: 'soft_bytes_exceeded', bytes: 95n, inodes: 4n, readAt: now, unknownReason: null, unknownSince: null, evaluatedAt: now });
    expect(stateAfter(row(), unknown('hung'), reading, now)).toMatchObject({ state: 'ok', unknownReason: 'hung', unknownSince: now, bytes: null });
  });
});

describe('subjectNeedsWrite, for a directory quota', () => {
  const write = (cur: EnforcedSubject<ManualFreeze, string | null>, d: Decision) => subjectNeedsWrite(cur, d, now, dirClamp);

  it('writes unknown reasons as volumes do', () => {
    expect(write(directory(), unknown('missing'))).toBe(true);
    expect(write(directory({ unknownReason: 'missing' }), unknown('missing'))).toBe(false);
    expect(write(directory({ unknownReason: 'missing' }), evaluated())).toBe(true);
  });

  it('writes a freeze and a clamp that follows the usage, not an unchanged one', () => {
    const frozen = directory({ state: 'frozen', clamp: { bytes: 150n, inodes: 1n } });
    expect(write(directory(), evaluated({ next: 'frozen', changed: true, capacity: { bytes: 150n, inodes: 1n } }))).toBe(true);
    expect(write(frozen, evaluated({ next: 'frozen', capacity: { bytes: 95n, inodes: 1n } }))).toBe(true);
    expect(write(frozen, evaluated({ next: 'frozen', capacity: { bytes: 150n, inodes: 1n } }))).toBe(false);
  });

  it('has no storage rule nor grace warning: a deadline near its end writes nothing new', () => {
    const soon = hours(1);
    expect(write(directory({ state: 'over_soft', graceDeadline: soon }), evaluated({ next: 'over_soft', graceDeadline: soon }))).toBe(false);
    expect(write(directory({ state: 'over_soft', graceDeadline: soon }), evaluated({ next: 'over_soft', graceDeadline: hours(2) }))).toBe(true);
  });

  it('leaves the row the decision says, with a freeze clamped under the hard limits', () => {
    const q = {
      quota: { softBytes: 100n, hardBytes: 120n, softInodes: null, hardInodes: null, graceSeconds: 60 },
      enforcement: { state: 'over_soft', since: t0, reason: 'soft_bytes_exceeded', graceDeadline: now, unknownReason: null, manual: null, desired: null },
    } as unknown as DirectoryQuota;
    const e = enforcementAfter(q, evaluated({ next: 'frozen', changed: true, reason: 'grace_expired', graceDeadline: now, capacity: { bytes: 130n, inodes: 7n } }), now);
    expect(e).toEqual({ state: 'frozen', since: now, reason: 'grace_expired', graceDeadline: now, unknownReason: null, manual: null, desired: { maxSpace: 120n, maxInodes: 7n } });
    // As a volume's, the reason is the one the quota entered its state for; a transition brings the next one.
    expect(enforcementAfter({ ...q, enforcement: e }, evaluated({ next: 'frozen', reason: 'hard_bytes_reached', capacity: { bytes: 125n, inodes: 7n } }), now).reason).toBe('grace_expired');
    expect(enforcementAfter({ ...q, enforcement: e }, evaluated({ next: 'ok', changed: true, reason: 'within_limits', capacity: { bytes: 120n, inodes: 0n } }), now).reason).toBe('within_limits');
  });
});

describe('sameClamp', () => {
  it('equals null only to null, and reads any limit ≤ 0 as unlimited', () => {
    expect(sameClamp(null, null)).toBe(true);
    expect(sameClamp(null, { bytes: 1n, inodes: 1n })).toBe(false);
    expect(sameClamp({ bytes: 0n, inodes: -1n }, { bytes: -1n, inodes: 0n })).toBe(true);
    expect(sameClamp({ bytes: 5n, inodes: 0n }, { bytes: 6n, inodes: 0n })).toBe(false);
  });
});
