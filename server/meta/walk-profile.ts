/**
 * Walk enrichment: what the files of each directory are (ages, sizes, types, numbered series) and
 * the volume's largest files, collected while a walk streams by, with bounded memory.
 *
 * What is kept: per directory, a fixed array of bucket sums plus at most {@link MAX_TYPES} types
 * and {@link MAX_SERIES} series of {@link SERIES_KEPT} members; for the volume, a min-heap of the
 * `topFiles` largest files. Nothing per file outlives the walk's join of a file's attr with its
 * name (see the TKV walk), so memory grows with directories, as the plain walk's does.
 *
 * Both walks call {@link WalkProfiler.attr} when they see a regular file's attr under its parent
 * (age, size), {@link WalkProfiler.named} once they also know its name (type, series, largest
 * files), and {@link WalkProfiler.finish} on the rolled-up result, which sums subtrees and adds
 * hard-linked files to every directory whose subtree holds a link, once each, as `rollUp` does.
 * File types and series come from `walk-file-names.ts`, as does the TKV walk's name/attr join.
 */
import { AGE_BUCKET_DAYS, SERIES_KEPT, SIZE_BUCKET_BYTES, type DirectoryProfile, type FileSeries, type FileTypeUsage, type LargeFile } from './volume-metadata.js';
import { ROOT_INODE, TRASH_INODE } from './tkv/keys.js';
import { fileTypeOf, seriesOf } from './walk-file-names.js';
import { TYPE_FILE } from './tkv/records.js';
import type { LinkedInode, WalkResult } from './walk-rollup.js';

/** Types kept per directory; the rest are summed under `other` (directories of hashed names). */
export const MAX_TYPES = 16;
/** Series kept per directory: names with digits in them but no common pattern stop here. */
export const MAX_SERIES = 16;
const BUCKETS = 5;
const lossy = new TextDecoder('utf-8', { fatal: false });

/**
 * One series' figures and its newest members, highest first, in fixed slots: members come and
 * go all walk long (a numbered folder arrives in order), and objects per member would live just
 * long enough to be promoted and collected later. Single-number keys are kept as numbers.
 */
interface SeriesAcc {
  files: number;
  bytes: number;
  kept: number;
  /** Names in latin1 form until presented. */
  names: string[];
  keys: Array<number | number[]>;
  sizes: Float64Array;
  mtimes: Float64Array;
}

/** A directory's accumulator, opaque outside this module. */
export interface ProfileAcc {
  /** ageBytes, ageFiles, sizeBytes, sizeFiles: BUCKETS each. */
  sums: Float64Array;
  newest: number;
  types: Map<string, { bytes: number; files: number }> | undefined;
  series: Map<string, SeriesAcc> | undefined;
}

interface Candidate {
  parent: bigint;
  /** Name bytes as latin1 (lossless, compact). */
  name: string;
  bytes: number;
  mtime: number;
}

/** Where a walk keeps a directory's profile: on its own per-directory accumulator (one map lookup per file, not two). */
export interface ProfileSlot {
  profile?: ProfileAcc;
}

/** A regular file's space as JuiceFS counts it (align4K, an empty file 4 KiB), in number arithmetic. */
export const fileSpace = (length: bigint): number => (length <= 0n ? 4096 : Math.ceil(Number(length) / 4096) * 4096);

const newProfile = (): ProfileAcc => ({ sums: new Float64Array(4 * BUCKETS), newest: 0, types: undefined, series: undefined });

const compareKeys = (a: number | number[], b: number | number[]): number => {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = typeof a === 'number' ? [a] : a;
  const y = typeof b === 'number' ? [b] : b;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
};

const bucketOf = (value: number, bounds: readonly number[]): number => {
  let i = 0;
  while (i < bounds.length && value >= bounds[i]!) i++;
  return i;
};

/** Collects the enrichment of one walk. */
export class WalkProfiler {
  /** Min-heap by bytes of the largest files seen. */
  private readonly heap: Candidate[] = [];

  /**
   * `now` is the walk's clock in seconds; `topFiles` bounds the largest-files list; `slotOf`
   * gives (creating it) and `slots` looks up the walk's accumulator of a directory inode.
   */
  constructor(
    readonly now: number,
    private readonly topFiles: number,
    private readonly slots: { get(ino: bigint): ProfileSlot | undefined },
    private readonly slotOf: (ino: bigint) => ProfileSlot,
  ) {}

  private acc(ino: bigint, slot = this.slotOf(ino)): ProfileAcc {
    return (slot.profile ??= newProfile());
  }

  /** A regular file's attr counted in `parent` (whose slot the caller may pass): its age and size buckets. */
  attr(parent: bigint, bytes: number, mtime: number, slot?: ProfileSlot): void {
    addFigures(this.acc(parent, slot), this.now, bytes, mtime);
  }

  /** {@link attr} and {@link named} at once, for walks that read a file's name with its attr (Redis). */
  file(parent: bigint, nameLatin1: string, length: bigint, mtime: number, slot?: ProfileSlot): void {
    const bytes = fileSpace(length);
    const a = this.acc(parent, slot);
    addFigures(a, this.now, bytes, mtime);
    this.nameFigures(a, parent, nameLatin1, bytes, mtime);
  }

  /** The same file once its name is known: its type, series and place among the largest. */
  named(parent: bigint, nameLatin1: string, bytes: number, mtime: number, slot?: ProfileSlot): void {
    this.nameFigures(this.acc(parent, slot), parent, nameLatin1, bytes, mtime);
  }

  /** Type, series and largest files from the latin1 form of the name (decoded only for what is kept). */
  private nameFigures(a: ProfileAcc, parent: bigint, name: string, bytes: number, mtime: number): void {
    addType((a.types ??= new Map()), fileTypeOf(name), bytes, 1);
    const s = seriesOf(name);
    if (s) addSeries(a, s.pattern, s.key, name, bytes, mtime);
    if (this.heap.length < this.topFiles || bytes > this.heap[0]!.bytes) this.offer({ parent, name, bytes, mtime });
  }

  private offer(c: Candidate): void {
    const h = this.heap;
    if (this.topFiles <= 0) return;
    if (h.length < this.topFiles) {
      h.push(c);
      for (let i = h.length - 1; i > 0;) {
        const p = (i - 1) >> 1;
        if (h[p]!.bytes <= h[i]!.bytes) break;
        [h[p], h[i]] = [h[i]!, h[p]!];
        i = p;
      }
      return;
    }
    if (c.bytes <= h[0]!.bytes) return;
    h[0] = c;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.bytes < h[m]!.bytes) m = l;
      if (r < h.length && h[r]!.bytes < h[m]!.bytes) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }

  /**
   * Attaches a profile to every directory of `w` (subtree sums, deepest first, trash kept apart
   * from `/` as `rollUp` keeps it), counts hard-linked files in each directory of their links'
   * subtrees once, and sets the volume's largest files. `linked` must carry `mtime`.
   */
  finish(w: WalkResult, linked: Iterable<LinkedInode> = []): WalkResult {
    const byIno = new Map(w.directories.map((d) => [d.inode, d]));
    const subtree = new Map<bigint, ProfileAcc>();
    for (let i = w.directories.length - 1; i >= 0; i--) {
      const d = w.directories[i]!;
      const own = this.slots.get(d.inode)?.profile ?? newProfile();
      const sub = subtree.get(d.inode) ?? newProfile();
      merge(sub, own);
      subtree.set(d.inode, sub);
      if (d.inode === ROOT_INODE || d.inode === TRASH_INODE || !byIno.has(d.parent)) continue;
      let p = subtree.get(d.parent);
      if (!p) subtree.set(d.parent, (p = newProfile()));
      merge(p, sub);
    }
    for (const l of linked) this.addLinked(l, byIno, subtree);
    for (const d of w.directories) {
      const own = this.slots.get(d.inode)?.profile;
      d.profile = present(subtree.get(d.inode)!, own);
    }
    const paths = new Map(w.directories.map((d) => [d.inode, Buffer.from(d.pathBase64, 'base64')]));
    const largestFiles: LargeFile[] = [...this.heap]
      .sort((a, b) => b.bytes - a.bytes)
      .map((c) => {
        const dir = paths.get(c.parent);
        const raw = Buffer.concat([dir && dir.toString('latin1') !== '/' ? dir : Buffer.alloc(0), Buffer.from('/'), Buffer.from(c.name, 'latin1')]);
        return { path: lossy.decode(raw), pathBase64: raw.toString('base64'), bytes: BigInt(c.bytes), mtime: c.mtime };
      });
    w.profile = { at: this.now, largestFiles };
    return w;
  }

  private addLinked(l: LinkedInode, byIno: Map<bigint, { parent: bigint }>, subtree: Map<bigint, ProfileAcc>): void {
    if (l.mtime === undefined || l.type !== TYPE_FILE) return; // regular files only, as everywhere here
    const bytes = fileSpace(l.length);
    const reachable = [...new Set(l.parents)].filter((p) => byIno.has(p));
    if (reachable.length === 0) return;
    const ancestors = new Set<bigint>();
    for (const p of reachable) {
      const own = this.acc(p);
      addFigures(own, this.now, bytes, l.mtime);
      if (l.name !== undefined) addType((own.types ??= new Map()), fileTypeOf(l.name), bytes, 1);
      for (let cur: bigint | undefined = p, n = 0; cur !== undefined && n < 10_000 && !ancestors.has(cur); n++) {
        ancestors.add(cur);
        if (cur === ROOT_INODE || cur === TRASH_INODE) break;
        cur = byIno.get(cur)?.parent;
      }
    }
    if (ancestors.has(ROOT_INODE)) ancestors.delete(TRASH_INODE);
    const type = l.name === undefined ? '' : fileTypeOf(l.name);
    for (const a of ancestors) {
      const s = subtree.get(a);
      if (!s) continue;
      addFigures(s, this.now, bytes, l.mtime);
      addType((s.types ??= new Map()), type, bytes, 1);
    }
    if (l.name !== undefined) this.offer({ parent: l.nameParent ?? reachable[0]!, name: l.name, bytes, mtime: l.mtime });
  }
}

function addFigures(a: ProfileAcc, now: number, bytes: number, mtime: number): void {
  const age = bucketOf(Math.max(0, now - mtime) / 86_400, AGE_BUCKET_DAYS);
  const size = bucketOf(bytes, SIZE_BUCKET_BYTES);
  a.sums[age]! += bytes;
  a.sums[BUCKETS + age]! += 1;
  a.sums[2 * BUCKETS + size]! += bytes;
  a.sums[3 * BUCKETS + size]! += 1;
  if (mtime > a.newest) a.newest = mtime;
}

function addType(types: Map<string, { bytes: number; files: number }>, type: string, bytes: number, files: number): void {
  const key = types.has(type) || types.size < MAX_TYPES ? type : 'other';
  const t = types.get(key);
  if (t) {
    t.bytes += bytes;
    t.files += files;
  } else types.set(key, { bytes, files });
}

function addSeries(a: ProfileAcc, pattern: string, numbers: number[], name: string, bytes: number, mtime: number): void {
  const all = (a.series ??= new Map<string, SeriesAcc>());
  let s = all.get(pattern);
  if (!s) {
    if (all.size >= MAX_SERIES) return;
    s = { files: 0, bytes: 0, kept: 0, names: new Array<string>(SERIES_KEPT), keys: new Array<number>(SERIES_KEPT), sizes: new Float64Array(SERIES_KEPT), mtimes: new Float64Array(SERIES_KEPT) };
    all.set(pattern, s);
  }
  s.files += 1;
  s.bytes += bytes;
  const key = numbers.length === 1 ? numbers[0]! : numbers;
  // Most members are not among the newest: rejected before anything is kept of them.
  if (s.kept === SERIES_KEPT && compareKeys(key, s.keys[SERIES_KEPT - 1]!) <= 0) return;
  let at = Math.min(s.kept, SERIES_KEPT - 1);
  for (; at > 0 && compareKeys(key, s.keys[at - 1]!) > 0; at--) {
    s.names[at] = s.names[at - 1]!;
    s.keys[at] = s.keys[at - 1]!;
    s.sizes[at] = s.sizes[at - 1]!;
    s.mtimes[at] = s.mtimes[at - 1]!;
  }
  s.names[at] = name;
  s.keys[at] = key;
  s.sizes[at] = bytes;
  s.mtimes[at] = mtime;
  if (s.kept < SERIES_KEPT) s.kept++;
}

function merge(into: ProfileAcc, from: ProfileAcc): void {
  for (let i = 0; i < into.sums.length; i++) into.sums[i]! += from.sums[i]!;
  if (from.newest > into.newest) into.newest = from.newest;
  if (from.types) for (const [t, u] of from.types) addType((into.types ??= new Map()), t, u.bytes, u.files);
}

const typesOf = (m: Map<string, { bytes: number; files: number }> | undefined): FileTypeUsage[] =>
  [...(m ?? [])].map(([type, u]) => ({ type, bytes: u.bytes, files: u.files })).sort((a, b) => b.bytes - a.bytes || a.type.localeCompare(b.type));

function present(sub: ProfileAcc, own: ProfileAcc | undefined): DirectoryProfile {
  const part = (k: number) => Array.from(sub.sums.subarray(k * BUCKETS, (k + 1) * BUCKETS));
  const series: FileSeries[] = [...(own?.series ?? new Map<string, SeriesAcc>())].map(([pattern, s]) => ({
    pattern: lossy.decode(Buffer.from(pattern, 'latin1')),
    files: s.files,
    bytes: s.bytes,
    newest: Array.from({ length: s.kept }, (_, i) => ({ name: lossy.decode(Buffer.from(s.names[i]!, 'latin1')), bytes: s.sizes[i]!, mtime: s.mtimes[i]! })),
  }));
  return { ageBytes: part(0), ageFiles: part(1), sizeBytes: part(2), sizeFiles: part(3), types: typesOf(sub.types), directTypes: typesOf(own?.types), newestMtime: sub.newest, series };
}
