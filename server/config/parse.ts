/**
 * What every group of variables parses with: the zod helpers for shell-style values, the error
 * that names every bad variable, and the freeze that makes the parsed config read-only.
 */
import cron from 'node-cron';
import { z } from 'zod';

/** Raised at boot when the environment is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** `true`/`false`/`1`/`0` → boolean. */
export const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Comma-separated list, items trimmed, empty items dropped. */
export const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

/** A node-cron expression. */
export const cronExpr = z.string().refine((v) => cron.validate(v), 'is not a valid cron expression');

/** "1-3,7" → [1, 2, 3, 7]. */
export function parseRanges(spec: string): number[] {
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const [lo, hi = lo] = part.split('-').map(Number) as [number, number?];
    for (let n = lo; n <= hi!; n++) out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

/** Freezes `o` and everything reachable from it; returns `o`. */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
