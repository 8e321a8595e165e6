import { describe, expect, it } from 'vitest';
import { decide, type Current, type Limits, type Reading } from '../../../server/enforcement/policy.js';

const GB = 1_000_000_000n;
const limits: Limits = { softBytes: 90n * GB, hardBytes: 100n * GB, softInodes: 900n, hardInodes: 1000n, graceSeconds: 3600 };
const opts = { hysteresis: 0.02, maxReadingAgeMs: 600_000 };
const t0 = new Date('2026-11-25T00:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);
const read = (bytes: bigint, inodes = 10n, readAt = t0): Reading => ({ ok: true, bytes, inodes, readAt });
const cur = (state: Current['state'], extra: Partial<Current> = {}): Current => ({ state, since: t0, graceDeadline: null, manualFreeze: null, ...extra });

function evaluated(d: ReturnType<typeof decide>) {
  if (d.kind !== 'evaluated') throw new Error(`expected a decision, got unknown: ${d.why}`);
  return d;
}

describe('enforcement policy', () => {
  it('stays ok under soft and writes the hard limits as JuiceFS capacity', () => {
    const d = evaluated(decide(limits, read(50n * GB), cur('ok'), t0, opts));
    expect(d).toMatchObject({ next: 'ok', changed: false, reason: 'within_limits' });
    expect(d.capacity).toEqual({ bytes: 100n * GB, inodes: 1000n });
  });

  it('over soft starts the grace clock', () => {
    const d = evaluated(decide(limits, read(91n * GB), cur('ok'), t0, opts));
    expect(d).toMatchObject({ next: 'over_soft', changed: true, reason: 'soft_bytes_exceeded' });
    expect(d.graceDeadline).toEqual(at(3600));
  });

  it('soft inodes count too', () => {
    expect(evaluated(decide(limits, read(1n, 901n), cur('ok'), t0, opts)).reason).toBe('soft_inodes_exceeded');
  });

  it('grace expiry while still over soft freezes at current usage', () => {
    const d = evaluated(decide(limits, read(92n * GB, 10n, at(3600)), cur('over_soft', { graceDeadline: at(3600) }), at(3600), opts));
    expect(d).toMatchObject({ next: 'frozen', reason: 'grace_expired', changed: true });
    expect(d.capacity).toEqual({ bytes: 92n * GB, inodes: 10n });
  });

  it('within grace it stays over_soft with the same deadline', () => {
    const d = evaluated(decide(limits, read(92n * GB, 10n, at(100)), cur('over_soft', { graceDeadline: at(3600) }), at(100), opts));
    expect(d).toMatchObject({ next: 'over_soft', changed: false });
    expect(d.graceDeadline).toEqual(at(3600));
  });

  it('reaching a hard limit freezes at once, from any state', () => {
    for (const s of ['ok', 'over_soft'] as const) {
      expect(evaluated(decide(limits, read(100n * GB), cur(s), t0, opts))).toMatchObject({ next: 'frozen', reason: 'hard_bytes_reached' });
    }
    expect(evaluated(decide(limits, read(1n, 1000n), cur('ok'), t0, opts)).reason).toBe('hard_inodes_reached');
  });

  it('hysteresis: a frozen volume just under soft stays frozen; below soft minus 2 % unfreezes', () => {
    const frozen = cur('frozen', { graceDeadline: t0 });
    expect(evaluated(decide(limits, read(89n * GB), frozen, t0, opts))).toMatchObject({ next: 'frozen', changed: false });
    // 90 GB - 2 % = 88.2 GB
    expect(evaluated(decide(limits, read(88_200_000_000n), frozen, t0, opts)).next).toBe('frozen');
    const d = evaluated(decide(limits, read(88_199_999_999n), frozen, t0, opts));
    expect(d).toMatchObject({ next: 'ok', changed: true, reason: 'below_release_line' });
    expect(d.capacity).toEqual({ bytes: 100n * GB, inodes: 1000n });
  });

  it('over_soft near the line does not flap back to ok', () => {
    const d = evaluated(decide(limits, read(89n * GB), cur('over_soft', { graceDeadline: at(3600) }), at(10), opts));
    expect(d.next).toBe('over_soft');
    // Under soft when grace expires: not frozen.
    expect(evaluated(decide(limits, read(89n * GB, 10n, at(4000)), cur('over_soft', { graceDeadline: at(3600) }), at(4000), opts)).next).toBe('over_soft');
  });

  it('a failed or stale reading decides nothing', () => {
    expect(decide(limits, { ok: false, error: 'etcd down' }, cur('frozen'), t0, opts)).toEqual({ kind: 'unknown', why: 'usage could not be read: etcd down' });
    const stale = decide(limits, read(1n, 1n, t0), cur('frozen'), at(601), opts);
    expect(stale.kind).toBe('unknown');
  });

  it('a manual freeze holds whatever the usage, until it expires', () => {
    const manual = cur('frozen', { manualFreeze: { until: at(60), reason: 'abuse' } });
    const held = evaluated(decide(limits, read(1n, 1n, at(30)), manual, at(30), opts));
    expect(held).toMatchObject({ next: 'frozen', reason: 'manual_freeze', changed: false });
    expect(held.capacity).toEqual({ bytes: 1n, inodes: 1n });
    const expired = evaluated(decide(limits, read(1n, 1n, at(61)), manual, at(61), opts));
    expect(expired).toMatchObject({ next: 'ok', clearManual: true, changed: true, reason: 'manual_freeze_expired' });
    const indefinite = cur('frozen', { manualFreeze: { until: null, reason: 'x' } });
    expect(evaluated(decide(limits, read(1n, 1n, at(1e6)), indefinite, at(1e6), opts)).next).toBe('frozen');
  });

  it('unlimited quotas never freeze', () => {
    const none: Limits = { softBytes: null, hardBytes: null, softInodes: null, hardInodes: null, graceSeconds: 0 };
    const d = evaluated(decide(none, read(10n ** 18n, 10n ** 12n), cur('ok'), t0, opts));
    expect(d).toMatchObject({ next: 'ok', capacity: { bytes: 0n, inodes: 0n } });
  });

  it('a frozen volume with empty usage is frozen at 1, never at 0 (0 means unlimited to JuiceFS)', () => {
    const d = evaluated(decide(limits, read(0n, 0n), cur('ok', { manualFreeze: { until: null, reason: 'r' } }), t0, opts));
    expect(d.capacity).toEqual({ bytes: 1n, inodes: 1n });
  });
});
