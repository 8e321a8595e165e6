/**
 * SeaweedFS `filer.conf` edits as pure functions: add or remove Headroom's read-only rules while
 * every other rule, field and unknown key is kept as it was (other tools and admins write this
 * file too). Rules are matched by `locationPrefix` (the writers' camelCase, or snake_case).
 */

/** The parsed file: `version`, `locations`, and whatever else it holds. */
export interface FilerConf {
  version?: number;
  locations?: Record<string, unknown>[];
  [k: string]: unknown;
}

const prefixOf = (l: Record<string, unknown>) => (l.locationPrefix ?? l.location_prefix) as string | undefined;
const readOnlyOf = (l: Record<string, unknown>) => Boolean(l.readOnly ?? l.read_only);

/** Parses filer.conf text (empty or missing = no rules). */
export function parseFilerConf(text: string | null): FilerConf {
  if (!text || !text.trim()) return { version: 1, locations: [] };
  const parsed = JSON.parse(text) as FilerConf;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('filer.conf is not a JSON object');
  return parsed;
}

/** Prefixes that are read-only under `root` (e.g. `/buckets/`). */
export function readOnlyPrefixes(conf: FilerConf, root = '/'): Set<string> {
  return new Set((conf.locations ?? []).filter((l) => readOnlyOf(l) && prefixOf(l)?.startsWith(root)).map((l) => prefixOf(l)!));
}

/**
 * Makes exactly the prefixes in `frozen` read-only among those `owned` (Headroom's), leaving any
 * other rule alone. Returns the new file, or null when nothing changes (so no write is needed).
 */
export function withFrozen(conf: FilerConf, owned: (prefix: string) => boolean, frozen: ReadonlySet<string>): FilerConf | null {
  const locations = [...(conf.locations ?? [])];
  let changed = false;
  // Drop our rules that should not be there; a rule of ours that someone edited is replaced whole.
  const kept = locations.filter((l) => {
    const p = prefixOf(l);
    if (!p || !owned(p)) return true;
    const keep = frozen.has(p) && readOnlyOf(l);
    if (!keep) changed = true;
    return keep;
  });
  const present = new Set(kept.map(prefixOf));
  for (const p of frozen) {
    if (present.has(p)) continue;
    kept.push({ locationPrefix: p, readOnly: true });
    changed = true;
  }
  return changed ? { ...conf, version: conf.version ?? 1, locations: kept } : null;
}
