import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../../server/lib/deadline.js';
import { ApiError } from '../../../server/lib/errors.js';
import { assessFit, chargedSpace, type FitInput } from '../../../server/quotas/fit.js';
import { FitService } from '../../../server/quotas/fit-service.js';
import type { Principal } from '../../../server/auth/principal.js';

const KiB = 4096n;
const now = new Date('2026-12-01T12:00:00Z');
const quota = { softBytes: 800n * KiB, hardBytes: 1000n * KiB, softInodes: null, hardInodes: 100n, graceSeconds: 3600 };
const base = (over: Partial<FitInput> = {}): FitInput => ({
  write: { bytes: 10n * KiB, inodes: 1n },
  used: { bytes: 500n * KiB, inodes: 10n },
  quota,
  setting: { capacity: quota.hardBytes!, inodes: quota.hardInodes! },
  state: 'ok',
  forecast: null,
  now,
  ...over,
});

describe('chargedSpace (JuiceFS 4 KiB alignment)', () => {
  it('charges one file of N bytes align4K(N), and an empty file or directory 4096', () => {
    expect(chargedSpace({ bytes: 1n, inodes: 1n })).toMatchObject({ mostBytes: 4096n, leastBytes: 4096n });
    expect(chargedSpace({ bytes: 4096n, inodes: 1n })).toMatchObject({ mostBytes: 4096n, leastBytes: 4096n });
    expect(chargedSpace({ bytes: 4097n, inodes: 1n })).toMatchObject({ mostBytes: 8192n, leastBytes: 8192n });
    expect(chargedSpace({ bytes: 0n, inodes: 3n })).toMatchObject({ mostBytes: 3n * KiB, leastBytes: 3n * KiB });
  });

  it('bounds N bytes split among M files by how the split falls on blocks', () => {
    // 10 files of 4097 bytes = 40970 bytes: each takes 2 blocks (20 in all) = the most, 11 + 10 − 1.
    const c = chargedSpace({ bytes: 40_970n, inodes: 10n });
    expect(c.mostBytes).toBe(20n * KiB);
    // At best the bytes fill whole blocks: ceil(40970 / 4096) = 11, above the one block each of the 10 files needs.
    expect(c.leastBytes).toBe(11n * KiB);
    expect(c.computation).toMatch(/4096 × \(ceil\(40970 \/ 4096\) \+ 10 − 1\) = 81920/);
  });

  it('appending to an existing file (0 new inodes) costs at most the blocks of N, at least its whole blocks', () => {
    expect(chargedSpace({ bytes: 5000n, inodes: 0n })).toMatchObject({ mostBytes: 8192n, leastBytes: 4096n });
    // 100 bytes may fit in the room left in the file's last block.
    expect(chargedSpace({ bytes: 100n, inodes: 0n })).toMatchObject({ mostBytes: 4096n, leastBytes: 0n });
    expect(chargedSpace({ bytes: 0n, inodes: 0n })).toMatchObject({ mostBytes: 0n, leastBytes: 0n });
  });
});

describe('assessFit', () => {
  it('fits a small write and says nothing crosses', () => {
    const v = assessFit(base());
    expect(v).toMatchObject({ fits: true, fitsAtBest: true, blockedBy: [], after: { bytes: 510n * KiB, inodes: 11n }, soft: { crosses: false, startsGrace: false }, hard: { reaches: false } });
    expect(v.room).toEqual({ bytes: 500n * KiB, inodes: 90n });
  });

  it('a write landing exactly on Capacity fits (JuiceFS refuses only above it) but reaches hard and freezes', () => {
    const v = assessFit(base({ write: { bytes: 500n * KiB, inodes: 1n } }));
    expect(v.after.bytes).toBe(quota.hardBytes);
    expect(v).toMatchObject({ fits: true, hard: { reaches: true, freezes: true }, soft: { crosses: true, startsGrace: false } });
    const over = assessFit(base({ write: { bytes: 500n * KiB + 1n, inodes: 1n } }));
    expect(over.fits).toBe(false);
    expect(over.blockedBy).toEqual(['juicefs_capacity', 'hard_bytes']);
  });

  it('judges on the most, and says when the least would still fit', () => {
    const v = assessFit(base({ used: { bytes: 900n * KiB, inodes: 0n }, write: { bytes: 50n * KiB, inodes: 60n } }));
    // most = 50 + 59 = 109 blocks > 100 free; least = max(50, 60) = 60 blocks fits.
    expect(v).toMatchObject({ fits: false, fitsAtBest: true, blockedBy: ['juicefs_capacity', 'hard_bytes'] });
  });

  it('crossing the soft limit from ok starts a grace period; already over soft it does not', () => {
    const v = assessFit(base({ used: { bytes: 795n * KiB, inodes: 10n } }));
    expect(v.soft).toEqual({ crosses: true, alreadyOver: false, startsGrace: true, graceEndsAt: new Date(now.getTime() + 3_600_000) });
    const again = assessFit(base({ used: { bytes: 850n * KiB, inodes: 10n }, state: 'over_soft' }));
    expect(again.soft).toEqual({ crosses: false, alreadyOver: true, startsGrace: false, graceEndsAt: null });
  });

  it('refuses any growth of a frozen volume, and shows the clamp JuiceFS enforces', () => {
    const v = assessFit(base({ state: 'frozen', setting: { capacity: 500n * KiB, inodes: 10n } }));
    expect(v.blockedBy).toEqual(['frozen', 'juicefs_capacity', 'juicefs_inodes']);
    expect(v.hard.freezes).toBe(false);
    expect(v.room).toEqual({ bytes: 0n, inodes: 0n });
  });

  it('counts inodes against the setting and the hard inode limit', () => {
    const v = assessFit(base({ write: { bytes: 0n, inodes: 91n } }));
    expect(v.blockedBy).toEqual(['juicefs_inodes', 'hard_inodes']);
    const unlimited = assessFit(base({ quota: { ...quota, hardInodes: null, hardBytes: null, softBytes: null }, setting: { capacity: 0n, inodes: 0n }, write: { bytes: 1n << 50n, inodes: 1000n } }));
    expect(unlimited).toMatchObject({ fits: true, room: { bytes: null, inodes: null } });
  });

  it('tells how long the volume lasts at the current rate, before and after the write', () => {
    const forecast = { bytesPerDay: 50 * 4096, fullAt: new Date(now.getTime() + 10 * 86_400_000), secondsToFull: 10 * 86_400, samples: 5 };
    const v = assessFit(base({ forecast, write: { bytes: 100n * KiB, inodes: 1n } }));
    // 1000 − 600 blocks left after the write, at 50 blocks a day: 8 days.
    expect(v.lasts).toEqual({ bytesPerDay: 50 * 4096, fullAt: forecast.fullAt, secondsToFull: 10 * 86_400, secondsToFullAfterWrite: 8 * 86_400 });
    expect(assessFit(base()).lasts).toBeNull();
  });
});

describe('FitService', () => {
  const principal: Principal = { sub: 'eve', role: 'engineer', tenants: ['acme'] } as unknown as Principal;
  const volume = { id: 'vol_1', state: 'active', metaUrl: 'local://x', prefix: 'p', quota };
  const usage = { current: async () => ({ usedBytes: 500n * KiB, usedInodes: 10n, readAt: now, quota, state: 'ok' as const, forecast: null }) };
  const make = (limits: () => Promise<Map<string, unknown>>, v: object = volume) =>
    new FitService({ volumes: { get: async () => v } as never, usage: usage as never, metadata: { readLimitsMany: limits as never } });

  it('answers from the counters and the setting', async () => {
    const a = await make(async () => new Map([['vol_1', { capacity: 600n * KiB, inodes: 0n }]])).check(principal, 'vol_1', { bytes: 100n * KiB + 1n, inodes: 1n }, now);
    expect(a).toMatchObject({ volumeId: 'vol_1', fits: false, blockedBy: ['juicefs_capacity'], setting: { capacity: 600n * KiB } });
  });

  it('passes an engine past its deadline on as dependency_unavailable, other read failures as 503', async () => {
    const hung = make(async () => new Map([['vol_1', new DependencyUnavailableError('metadata engine (etcd)', 'no answer within 1000 ms')]]));
    await expect(hung.check(principal, 'vol_1', { bytes: 1n, inodes: 1n })).rejects.toBeInstanceOf(DependencyUnavailableError);
    const broken = make(async () => new Map([['vol_1', new Error('not formatted')]]));
    await expect(broken.check(principal, 'vol_1', { bytes: 1n, inodes: 1n })).rejects.toMatchObject({ status: 503, code: 'metadata_unavailable' });
  });

  it('refuses a volume that is not active (409) before reading the engine', async () => {
    let read = false;
    const svc = make(async () => ((read = true), new Map()), { ...volume, state: 'deleting' });
    const err = await svc.check(principal, 'vol_1', { bytes: 1n, inodes: 1n }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, code: 'volume_not_active' });
    expect(read).toBe(false);
  });
});
