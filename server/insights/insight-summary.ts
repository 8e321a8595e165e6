/**
 * Pure helpers turning a walk into what is stored and served: the volume-wide summary (ages,
 * sizes, types, largest files, stale directories), the directories kept for comparisons, and
 * where the volume grew between two walks.
 */
import type { DirectoryProfile, WalkOutcome } from '../meta/volume-metadata.js';
import type { InsightDirectory, InsightSummary } from './insight-store.js';
import type { WalkTree } from './walk-tree.js';

/** Bucket names, in the order of the profile arrays (bounds: AGE_BUCKET_DAYS, SIZE_BUCKET_BYTES). */
export const AGE_BUCKETS = ['lt7d', '7to30d', '30to90d', '90to365d', 'gt365d'] as const;
export const SIZE_BUCKETS = ['lt1MiB', '1to100MiB', '100MiBto1GiB', '1to10GiB', 'gt10GiB'] as const;
/** A directory with no file modified for this long is "stale". */
export const STALE_DAYS = 90;
const STALE_LISTED = 20;
const DAY = 86_400;

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const buckets = (names: readonly string[], bytes: number[] = [], files: number[] = []) => names.map((bucket, i) => ({ bucket, bytes: bytes[i] ?? 0, files: files[i] ?? 0 }));

/** The volume-wide summary of a walk (the root's profile, `/` without trash). */
export function summarize(outcome: WalkOutcome, tree: WalkTree, now: number): InsightSummary {
  const root = tree.dirs.find((d) => d.path === '/')?.profile;
  const cutoff = now - STALE_DAYS * DAY;
  const staleSet = tree.live().filter((d) => d.path !== '/' && d.profile && d.profile.newestMtime > 0 && d.profile.newestMtime < cutoff);
  const stale = tree
    .outermost(staleSet)
    .sort((a, b) => (b.bytes > a.bytes ? 1 : b.bytes < a.bytes ? -1 : 0))
    .slice(0, STALE_LISTED);
  return {
    ages: buckets(AGE_BUCKETS, root?.ageBytes, root?.ageFiles),
    sizes: buckets(SIZE_BUCKETS, root?.sizeBytes, root?.sizeFiles),
    types: root?.types ?? [],
    largestFiles: (outcome.profile?.largestFiles ?? []).map((f) => ({ path: f.path, pathBase64: f.pathBase64, bytes: Number(f.bytes), modifiedAt: iso(f.mtime) })),
    staleDirectories: stale.map((d) => ({ path: d.path, bytes: Number(d.bytes), files: Number(d.files), lastModifiedAt: iso(d.profile!.newestMtime) })),
  };
}

/**
 * The directories kept per walk: every one down to depth 3 (what people browse and compare),
 * then the largest up to `max`. Trash hours are kept too (they are few and users ask about them).
 */
export function selectDirectories(tree: WalkTree, max: number): InsightDirectory[] {
  const sorted = [...tree.dirs].sort((a, b) => (b.bytes > a.bytes ? 1 : b.bytes < a.bytes ? -1 : 0));
  const kept = new Set(sorted.filter((d) => d.depth <= 3).slice(0, max));
  for (const d of sorted) {
    if (kept.size >= max) break;
    kept.add(d);
  }
  return [...kept].map((d) => ({ pathBase64: d.pathBase64, path: d.path, depth: d.depth, bytes: d.bytes, files: d.files, profile: (d.profile as DirectoryProfile | undefined) ?? null }));
}

/** A directory's change between two walks. */
export interface Growth {
  path: string;
  bytesDelta: bigint;
  filesDelta: bigint;
}

/**
 * Where the change happened: directories whose growth is not mostly (80 %) one child's, i.e.
 * the deepest place a change concentrates, largest first; the same for shrinking. A directory
 * only in one walk counts as grown from (or shrunk to) nothing.
 */
export function compareDirectories(latest: readonly InsightDirectory[], previous: readonly InsightDirectory[], limit = 5): Growth[] {
  const prev = new Map(previous.map((d) => [d.pathBase64, d]));
  const cur = new Map(latest.map((d) => [d.pathBase64, d]));
  const deltas = new Map<string, Growth & { depth: number }>();
  for (const d of latest)
    deltas.set(d.pathBase64, { path: d.path, depth: d.depth, bytesDelta: d.bytes - (prev.get(d.pathBase64)?.bytes ?? 0n), filesDelta: d.files - (prev.get(d.pathBase64)?.files ?? 0n) });
  for (const d of previous) if (!cur.has(d.pathBase64)) deltas.set(d.pathBase64, { path: d.path, depth: d.depth, bytesDelta: -d.bytes, filesDelta: -d.files });
  const all = [...deltas.values()].filter((g) => g.path !== '/' && g.bytesDelta !== 0n);
  const parentPath = (p: string) => (p.lastIndexOf('/') <= 0 ? '/' : p.slice(0, p.lastIndexOf('/')));
  const strongestChild = new Map<string, bigint>();
  for (const g of all) {
    const key = `${parentPath(g.path)}|${g.bytesDelta > 0n ? '+' : '-'}`;
    const abs = g.bytesDelta < 0n ? -g.bytesDelta : g.bytesDelta;
    if (abs > (strongestChild.get(key) ?? 0n)) strongestChild.set(key, abs);
  }
  const focal = all.filter((g) => {
    const abs = g.bytesDelta < 0n ? -g.bytesDelta : g.bytesDelta;
    return (strongestChild.get(`${g.path}|${g.bytesDelta > 0n ? '+' : '-'}`) ?? 0n) * 10n < abs * 8n;
  });
  const mag = (g: Growth) => (g.bytesDelta < 0n ? -g.bytesDelta : g.bytesDelta);
  return focal
    .sort((a, b) => (mag(b) > mag(a) ? 1 : mag(b) < mag(a) ? -1 : a.path.localeCompare(b.path)))
    .slice(0, limit)
    .map(({ path, bytesDelta, filesDelta }) => ({ path, bytesDelta, filesDelta }));
}
