/**
 * The limits a quota request asks for, grants and reverts, and the checks every ask passes,
 * whether it is for a volume's own quota or for one directory quota of it: pure functions, so
 * both kinds of request are judged by the same code.
 */
import { errors } from '../lib/errors.js';
import { humanBytes, humanCount } from '../notifications/humanize.js';
import { checkQuota, type PlatformCeiling } from '../quotas/quota-check.js';
import type { Quota } from '../volumes/volume.js';
import type { RequestedLimits } from './auto-approval.js';
import type { JsonLimits } from './request-store.js';

/** The four limits a request can name. */
export const KEYS = ['softBytes', 'hardBytes', 'softInodes', 'hardInodes'] as const;
/** One of {@link KEYS}. */
export type Key = (typeof KEYS)[number];
/** A quota's limits without its grace (null = unlimited). */
export type Limits = Omit<Quota, 'graceSeconds'>;
/** Usage as requests judge it. */
export type Usage = { bytes: bigint; inodes: bigint };

/** The longest temporary grant anyone can ask for. */
const MAX_GRANT_DAYS = 365;

/** The limits a body names, as bigints. */
export function askedLimits(input: Partial<Record<Key, number>>): RequestedLimits {
  const out: RequestedLimits = {};
  for (const k of KEYS) if (input[k] !== undefined) out[k] = BigInt(input[k]!);
  return out;
}

/** A temporary grant's end: in the future, at most {@link MAX_GRANT_DAYS} ahead; null = permanent. */
export function parseUntil(until: string | undefined): Date | null {
  if (until === undefined) return null;
  const d = new Date(until);
  const now = Date.now();
  if (!(d.getTime() > now)) throw errors.validation('`until` must be in the future', [{ path: '/body/until', message: 'must be in the future' }]);
  if (d.getTime() > now + MAX_GRANT_DAYS * 86_400_000)
    throw errors.validation(`a temporary grant lasts at most ${MAX_GRANT_DAYS} days`, [{ path: '/body/until', message: `at most ${MAX_GRANT_DAYS} days ahead` }]);
  return d;
}

/** A quota's limits. */
export function limitsOf(q: Limits): Limits {
  return { softBytes: q.softBytes, hardBytes: q.hardBytes, softInodes: q.softInodes, hardInodes: q.hardInodes };
}

/** Limits as stored in JSON (decimal strings, null = unlimited). */
export function jsonLimits(l: Partial<Limits>): JsonLimits {
  return Object.fromEntries(Object.entries(l).map(([k, v]) => [k, v === null || v === undefined ? null : String(v)]));
}

/** The numbers a stored request names. */
export function fromJson(l: JsonLimits): RequestedLimits {
  const out: RequestedLimits = {};
  for (const k of KEYS) if (l[k] !== undefined && l[k] !== null) out[k] = BigInt(l[k]!);
  return out;
}

/** A date as the API and audit rows carry it. */
export const iso = (d: Date | null) => d?.toISOString() ?? null;

/**
 * Refuses asks that lower a limit, exceed the ceiling, or would leave the target over its hard
 * limit (`what`: "the volume", or the directory by path, for the messages).
 */
export function checkAsk(what: string, current: Limits, asked: RequestedLimits, usage: Usage | null, ceiling: PlatformCeiling, opts: { allowLowering?: boolean } = {}): void {
  if (!opts.allowLowering) {
    for (const k of Object.keys(asked) as Key[]) {
      const have = current[k];
      if (have === null) throw errors.notAnIncrease(`${k} is unlimited today; a request can only raise limits (ask an admin to set one)`);
      if (asked[k]! < have) throw errors.notAnIncrease(`${k} ${asked[k]} is below the current ${have}; a request can only raise limits (ask an admin to lower them)`);
    }
    // Asking for exactly what the target has would sit in an admin's queue for nothing.
    const keys = Object.keys(asked) as Key[];
    if (keys.length > 0 && keys.every((k) => asked[k] === current[k])) throw errors.notAnIncrease(`${what} already has ${keys.map((k) => `${k} ${current[k]}`).join(' and ')}; ask for more than that`);
  }
  const merged: Limits = { ...limitsOf(current), ...asked };
  checkQuota(merged, ceiling);
  if (!usage) return;
  if (merged.hardBytes !== null && merged.hardBytes <= usage.bytes) {
    throw errors.requestBelowUsage(
      `${what} already uses ${humanBytes(usage.bytes)} (${usage.bytes} bytes): a hard limit of ${humanBytes(merged.hardBytes)} would leave it frozen; ask for more than ${usage.bytes} bytes`,
    );
  }
  if (merged.hardInodes !== null && merged.hardInodes <= usage.inodes) {
    throw errors.requestBelowUsage(
      `${what} already holds ${humanCount(usage.inodes)} files (${usage.inodes}): a limit of ${merged.hardInodes} would leave it frozen; ask for more than ${usage.inodes}`,
    );
  }
}
