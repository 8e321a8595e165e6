/**
 * Pre-flight checks ("would this write fit?") as a pure function, so every limit and rounding
 * case is unit-tested without an engine. The service around it reads the live counters and the
 * JuiceFS setting; this module only does the arithmetic.
 *
 * Space is charged as JuiceFS charges it (docs/design/juicefs-metadata.md §6): a regular file
 * costs align4K(length), with align4K(0) = 4096, and every new inode (file, directory, symlink)
 * costs at least 4096 bytes and one inode. A write is described by its total bytes N and the new
 * inodes M it creates, so the exact charge depends on how N is split among the M files:
 *   most  = 4096 × (ceil(N / 4096) + M − 1)   every file ends part-way into a block (M ≥ 1)
 *   least = 4096 × max(ceil(N / 4096), M)     files fill whole blocks
 * With M = 0 (appending to one existing file) the charge is at most 4096 × ceil(N / 4096) and at
 * least 4096 × floor(N / 4096) (the file's last block may have room). The verdict is taken on the
 * most, so "fits" holds however the bytes are split.
 */
import type { EnforcementState } from '../enforcement/policy.js';
import type { SettingLimits } from '../meta/volume-metadata.js';
import type { Quota } from '../volumes/volume.js';
import type { Forecast } from './forecast.js';

/** JuiceFS's allocation unit for space accounting. */
export const BLOCK = 4096n;

/** What the caller plans to write: N bytes in M new inodes. */
export interface PlannedWrite {
  bytes: bigint;
  inodes: bigint;
}

/** Everything the verdict is drawn from, read just before. */
export interface FitInput {
  write: PlannedWrite;
  /** The live counters. */
  used: { bytes: bigint; inodes: bigint };
  quota: Quota;
  /** What JuiceFS itself enforces now (0 = unlimited); clamped to usage while frozen. */
  setting: SettingLimits;
  state: EnforcementState;
  /** Time to the hard byte limit at the recent rate (null: not growing, no limit, short history). */
  forecast: Forecast | null;
  now: Date;
}

/** Why a write would be refused. */
export type FitBlocker = 'frozen' | 'juicefs_capacity' | 'juicefs_inodes' | 'hard_bytes' | 'hard_inodes';

/** The answer of a pre-flight check. */
export interface FitVerdict {
  /** True when the write fits even if charged the most (every blocker below is absent). */
  fits: boolean;
  /** True when it would fit if charged the least (files filling whole 4 KiB blocks). */
  fitsAtBest: boolean;
  blockedBy: FitBlocker[];
  charged: { mostBytes: bigint; leastBytes: bigint; inodes: bigint; computation: string };
  after: { bytes: bigint; inodes: bigint };
  /** Bytes and inodes that can still be charged before a limit refuses (null = unlimited). */
  room: { bytes: bigint | null; inodes: bigint | null };
  soft: { crosses: boolean; alreadyOver: boolean; startsGrace: boolean; graceEndsAt: Date | null };
  hard: { reaches: boolean; freezes: boolean };
  /** How long the volume lasts at its recent rate, now and after this write. */
  lasts: { bytesPerDay: number; fullAt: Date; secondsToFull: number; secondsToFullAfterWrite: number } | null;
}

const ceilBlocks = (n: bigint) => (n + BLOCK - 1n) / BLOCK;

/** The most and least space JuiceFS charges for N bytes in M new inodes, and how that was worked out. */
export function chargedSpace(w: PlannedWrite): { mostBytes: bigint; leastBytes: bigint; computation: string } {
  const blocks = ceilBlocks(w.bytes);
  if (w.inodes === 0n) {
    return {
      mostBytes: blocks * BLOCK,
      leastBytes: (w.bytes / BLOCK) * BLOCK,
      computation:
        `${w.bytes} bytes appended to one existing file, charged as JuiceFS charges space (whole 4 KiB blocks): ` +
        `at most 4096 × ceil(${w.bytes} / 4096) = ${blocks * BLOCK} bytes, at least 4096 × floor(${w.bytes} / 4096) = ${(w.bytes / BLOCK) * BLOCK} bytes when its last block has room; the verdict uses the most`,
    };
  }
  const most = (blocks > 0n ? blocks + w.inodes - 1n : w.inodes) * BLOCK;
  const least = (blocks > w.inodes ? blocks : w.inodes) * BLOCK;
  return {
    mostBytes: most,
    leastBytes: least,
    computation:
      `${w.bytes} bytes in ${w.inodes} new inode(s), charged as JuiceFS charges space (align4K per file, 4096 for an empty file or a directory): ` +
      `at most 4096 × (ceil(${w.bytes} / 4096) + ${w.inodes} − 1) = ${most} bytes when every file ends part-way into a block, ` +
      `at least 4096 × max(ceil(${w.bytes} / 4096), ${w.inodes}) = ${least} bytes; the verdict uses the most`,
  };
}

/** Room left under a limit (null = unlimited), never negative. */
const roomUnder = (used: bigint, ...limits: (bigint | null)[]): bigint | null => {
  const set = limits.filter((l): l is bigint => l !== null);
  if (!set.length) return null;
  const min = set.reduce((a, b) => (b < a ? b : a));
  return min > used ? min - used : 0n;
};

/** Decides whether a planned write fits, and what it would set off. */
export function assessFit(i: FitInput): FitVerdict {
  const charged = { ...chargedSpace(i.write), inodes: i.write.inodes };
  const after = { bytes: i.used.bytes + charged.mostBytes, inodes: i.used.inodes + charged.inodes };
  const cap = i.setting.capacity > 0n ? i.setting.capacity : null;
  const capInodes = i.setting.inodes > 0n ? i.setting.inodes : null;
  const q = i.quota;
  const blockers = (bytes: bigint): FitBlocker[] => {
    const out: FitBlocker[] = [];
    // A frozen volume refuses any growth, whatever its setting says at this instant (a clamp being applied).
    if (i.state === 'frozen' && (bytes > 0n || charged.inodes > 0n)) out.push('frozen');
    // JuiceFS refuses when usage + request is above Capacity/Inodes (checkQuota); equal still fits.
    if (cap !== null && i.used.bytes + bytes > cap) out.push('juicefs_capacity');
    if (capInodes !== null && after.inodes > capInodes) out.push('juicefs_inodes');
    if (q.hardBytes !== null && i.used.bytes + bytes > q.hardBytes) out.push('hard_bytes');
    if (q.hardInodes !== null && after.inodes > q.hardInodes) out.push('hard_inodes');
    return out;
  };
  const blockedBy = blockers(charged.mostBytes);
  const overSoft = (b: bigint, n: bigint) => (q.softBytes !== null && b > q.softBytes) || (q.softInodes !== null && n > q.softInodes);
  const alreadyOver = overSoft(i.used.bytes, i.used.inodes);
  // The policy freezes on reaching the hard limit (usage >= hard), one step before JuiceFS refuses.
  const reaches = (q.hardBytes !== null && after.bytes >= q.hardBytes) || (q.hardInodes !== null && after.inodes >= q.hardInodes);
  const crosses = !alreadyOver && overSoft(after.bytes, after.inodes);
  const startsGrace = crosses && !reaches && i.state === 'ok';
  return {
    fits: blockedBy.length === 0,
    fitsAtBest: blockers(charged.leastBytes).length === 0,
    blockedBy,
    charged,
    after,
    room: { bytes: roomUnder(i.used.bytes, cap, q.hardBytes), inodes: roomUnder(i.used.inodes, capInodes, q.hardInodes) },
    soft: { crosses, alreadyOver, startsGrace, graceEndsAt: startsGrace ? new Date(i.now.getTime() + q.graceSeconds * 1000) : null },
    hard: { reaches, freezes: reaches && i.state !== 'frozen' },
    lasts: lastsOf(i, after.bytes),
  };
}

/** The forecast, and the same rate run from the usage after the write. */
function lastsOf(i: FitInput, afterBytes: bigint): FitVerdict['lasts'] {
  const f = i.forecast;
  if (!f || i.quota.hardBytes === null || f.bytesPerDay <= 0) return null;
  const left = i.quota.hardBytes > afterBytes ? Number(i.quota.hardBytes - afterBytes) : 0;
  return { bytesPerDay: f.bytesPerDay, fullAt: f.fullAt, secondsToFull: f.secondsToFull, secondsToFullAfterWrite: Math.round((left / f.bytesPerDay) * 86_400) };
}
