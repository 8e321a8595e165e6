/**
 * Metadata prefixes: derived from tenant and volume name, limited to `[a-z0-9-]`, at most 63
 * bytes, and unique forever. The `volume_prefixes` ledger's primary key is the guarantee: rows
 * are never deleted (deletion only sets `retired_at`), and an insert that collides, even with
 * a concurrent uncommitted insert, waits for it and then loses, so the loser takes a suffix.
 */
import { randomInt } from 'node:crypto';
import type { VolumeStore } from './volume-store.js';

/** Longest prefix: a DNS label, comfortably inside every engine's key budget. */
export const maxPrefixLength = 63;
const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `<tenant>-<name>` squeezed into `[a-z0-9-]`, no leading/trailing/double dashes, ≤ 63 bytes. */
export function derivePrefix(tenantId: string, name: string): string {
  const base = `${tenantId}-${name}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
  return trimDashes(base.slice(0, maxPrefixLength)) || 'v';
}

/** `base` shortened so that `-xxxxx` fits, plus a random 5-character suffix. */
export function withSuffix(base: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += alphabet[randomInt(alphabet.length)];
  return `${trimDashes(base.slice(0, maxPrefixLength - 6)) || 'v'}-${suffix}`;
}

function trimDashes(s: string): string {
  return s.replace(/-+$/g, '');
}

/**
 * Claims a never-used prefix for `volumeId` inside the caller's transaction: the derived one if
 * free, else the derived one with a random suffix. A lost claim leaves the transaction usable.
 */
export async function allocatePrefix(store: Pick<VolumeStore, 'claimPrefix'>, volumeId: string, derived: string): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const candidate = attempt === 0 ? derived : withSuffix(derived);
    if (await store.claimPrefix(candidate, volumeId)) return candidate;
  }
  // 20 random 5-character suffixes all taken: 36^5 = 60M combinations, so this is a bug or an attack.
  throw new Error(`could not allocate a free prefix derived from "${derived}"`);
}
