import { describe, expect, it } from 'vitest';
import { wouldChange } from '../../../server/enforcement/dry-run.js';
import { initialState } from '../../../server/enforcement/enforcement-store.js';
import type { Volume } from '../../../server/volumes/volume.js';
import { evaluated } from '../../support/unit.js';

const now = new Date('2026-12-01T12:00:00Z');
const v = { id: 'vol_1', tenantId: 'acme' } as Volume;

describe('wouldChange', () => {
  it('a first unknown reading tells admins once; a later one only updates the reason', () => {
    const cur = initialState('vol_1', 'acme', now);
    expect(wouldChange(v, cur, { kind: 'unknown', why: 'hung' }, now, false)).toMatchObject({ unknown: 'hung', notices: ['admin.volume_unknown'], transition: null, limitWrite: null });
    expect(wouldChange(v, { ...cur, unknownReason: 'hung' }, { kind: 'unknown', why: 'still hung' }, now, false).notices).toEqual([]);
  });

  it('freezing: the transition, the clamp, the storage rule and the notice', () => {
    const cur = { ...initialState('vol_1', 'acme', now), desiredCapacity: 100n, desiredInodes: 0n };
    const c = wouldChange(v, cur, evaluated({ next: 'frozen', changed: true, reason: 'hard_bytes_reached', capacity: { bytes: 120n, inodes: 7n } }), now, true);
    expect(c).toEqual({
      volumeId: 'vol_1',
      tenantId: 'acme',
      transition: { from: 'ok', to: 'frozen', reason: 'hard_bytes_reached' },
      limitWrite: { from: { capacity: 100n, inodes: 0n }, to: { capacity: 120n, inodes: 7n } },
      storageRule: true,
      unknown: null,
      clearsUnknown: false,
      notices: ['quota.frozen'],
    });
    // Without a bucket there is no storage rule to set.
    expect(wouldChange(v, cur, evaluated({ next: 'frozen', changed: true, reason: 'hard_bytes_reached' }), now, false).storageRule).toBeNull();
  });

  it('the grace warning is due in the last 24 h of an over_soft grace period, not before', () => {
    const cur = { ...initialState('vol_1', 'acme', now), state: 'over_soft' as const, desiredCapacity: 100n, desiredInodes: 0n };
    const soon = evaluated({ next: 'over_soft', reason: 'soft_bytes_exceeded', graceDeadline: new Date(now.getTime() + 3_600_000) });
    expect(wouldChange(v, cur, soon, now, false)).toMatchObject({ transition: null, limitWrite: null, notices: ['quota.grace_ending'] });
    const later = evaluated({ next: 'over_soft', reason: 'soft_bytes_exceeded', graceDeadline: new Date(now.getTime() + 3 * 86_400_000) });
    expect(wouldChange(v, cur, later, now, false).notices).toEqual([]);
  });

  it('a volume trusted again after being unknown is reported as such', () => {
    const cur = { ...initialState('vol_1', 'acme', now), unknownReason: 'hung', desiredCapacity: 100n, desiredInodes: 0n };
    expect(wouldChange(v, cur, evaluated({}), now, false)).toMatchObject({ clearsUnknown: true, transition: null, limitWrite: null, notices: [] });
  });
});
