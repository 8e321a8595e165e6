/**
 * Turning per-directory "direct children" figures into a walk result: subtree sums, depths,
 * paths, trash separation and detached entries. Engine-neutral: the TKV walk (range scans) and
 * the Redis walk (SCAN/HSCAN) both collect direct figures and end here, so they return the same
 * {@link WalkResult} and `counterMismatch` applies to both.
 */
import type { DirectoryUsage, WalkProfile } from './volume-metadata.js';
import type { ProfileSlot } from './walk-profile.js';
import { ROOT_INODE, TRASH_INODE } from './tkv/keys.js';
import { TYPE_DIR, TYPE_FILE, inodeSpace } from './tkv/records.js';

/** Usage of one directory; "direct" is its immediate children, the rest its whole subtree (itself excluded). */
export interface WalkedDirectory extends DirectoryUsage {
  parent: bigint;
  directLogicalBytes: bigint;
}

/** Walk result: per-directory usage plus totals for the tree and for the trash. */
export interface WalkResult {
  keysRead: number;
  /** Everything reachable from `/` (root itself excluded, as the counters exclude it). */
  tree: { bytes: bigint; logicalBytes: bigint; inodes: bigint };
  /** Everything under `.trash` (the trash root excluded). */
  trash: { bytes: bigint; logicalBytes: bigint; inodes: bigint };
  /** Inodes whose parent directory was not found (detached or being deleted). */
  detached: { bytes: bigint; inodes: bigint };
  directories: WalkedDirectory[];
  /** Set by `WalkProfiler.finish` when the walk was enriched. */
  profile?: WalkProfile;
}

/** Accumulated figures of one directory (or of an inode that children point at). */
export interface DirAcc extends ProfileSlot {
  /** Parent directory (0 for the root). */
  parent: bigint;
  /** Seen as a directory (a dentry of type dir, or the root/trash root). */
  isDir: boolean;
  /** Own name bytes in the parent. */
  name: Buffer | undefined;
  directBytes: bigint;
  directLogical: bigint;
  directInodes: bigint;
  files: bigint;
  dirs: bigint;
  // filled by the roll-up
  bytes: bigint;
  logical: bigint;
  inodes: bigint;
  rfiles: bigint;
  rdirs: bigint;
}

/**
 * A hard-linked inode with links in several directories. It is kept out of the direct figures
 * while walking and added by {@link rollUp}: once to every directory whose subtree holds one of
 * its links (as `du DIR` counts it there), and once to the volume total (as the counters do).
 */
export interface LinkedInode {
  ino: bigint;
  type: number;
  length: bigint;
  /** Directories holding a link (positive counts in the inode's parent keys). */
  parents: bigint[];
  /** For the enrichment (`walk-profile.ts`): modification time (s), one link's name (latin1) and its directory. */
  mtime?: number;
  name?: string;
  nameParent?: bigint;
}

/** A fresh, empty accumulator. */
export const newAcc = (): DirAcc => ({
  parent: 0n,
  isDir: false,
  name: undefined,
  directBytes: 0n,
  directLogical: 0n,
  directInodes: 0n,
  files: 0n,
  dirs: 0n,
  bytes: 0n,
  logical: 0n,
  inodes: 0n,
  rfiles: 0n,
  rdirs: 0n,
});

/** Adds one child inode to a directory's direct figures, counting space as JuiceFS does. */
export function addDirectChild(a: DirAcc, type: number, length: bigint): void {
  a.directBytes += inodeSpace(type, length);
  a.directLogical += type === TYPE_FILE ? length : 0n;
  a.directInodes += 1n;
  if (type === TYPE_DIR) a.dirs += 1n;
  else a.files += 1n;
}

const lossy = new TextDecoder('utf-8', { fatal: false });

/**
 * Sums subtrees bottom-up and builds paths; entries whose parent chain does not reach `/` or
 * `.trash` are reported as detached, not hidden. `extraDetached` adds inodes the caller found
 * outside any directory (Redis: sustained inodes, unlinked while open but still counted).
 */
export function rollUp(dirs: Map<bigint, DirAcc>, keysRead: number, extraDetached = { bytes: 0n, inodes: 0n }, linked: Iterable<LinkedInode> = []): WalkResult {
  const depth = depthsOf(dirs);
  const ordered = [...dirs.entries()].filter(([ino, d]) => (d.isDir || ino === ROOT_INODE || ino === TRASH_INODE) && depth.get(ino)! >= 0).sort((a, b) => depth.get(b[0])! - depth.get(a[0])!);
  sumSubtrees(dirs, ordered);
  // The trash root is never added as a child (it is no dentry of `/`), so `/` holds only real entries.
  const detached = { bytes: extraDetached.bytes, inodes: extraDetached.inodes };
  for (const [ino, d] of dirs) {
    if (depth.get(ino) === undefined || depth.get(ino)! < 0) {
      detached.bytes += d.directBytes;
      detached.inodes += d.directInodes;
    }
  }
  for (const l of linked) addLinked(dirs, depth, l, detached);
  const root = dirs.get(ROOT_INODE) ?? newAcc();
  const trash = dirs.get(TRASH_INODE) ?? newAcc();
  return {
    keysRead,
    tree: { bytes: root.bytes, logicalBytes: root.logical, inodes: root.inodes },
    trash: { bytes: trash.bytes, logicalBytes: trash.logical, inodes: trash.inodes },
    detached,
    directories: listDirectories(dirs, depth, ordered),
  };
}

/**
 * Depth of every directory below `/` or `.trash` (both at 0); -1 for a directory whose parent
 * chain reaches neither (detached, or a cycle).
 */
function depthsOf(dirs: Map<bigint, DirAcc>): Map<bigint, number> {
  const depth = new Map<bigint, number>([
    [ROOT_INODE, 0],
    [TRASH_INODE, 0],
  ]);
  const depthOf = (ino: bigint): number => {
    const chain: bigint[] = [];
    let cur = ino;
    while (!depth.has(cur)) {
      const d = dirs.get(cur);
      if (!d?.isDir || chain.includes(cur) || chain.length > 10_000) {
        for (const c of chain) depth.set(c, -1); // detached (or a cycle): no path to a root
        return -1;
      }
      chain.push(cur);
      cur = d.parent;
    }
    let base = depth.get(cur)!;
    for (let i = chain.length - 1; i >= 0; i--) depth.set(chain[i]!, base < 0 ? -1 : ++base);
    return depth.get(ino)!;
  };
  for (const [ino, d] of dirs) if (d.isDir || ino === ROOT_INODE || ino === TRASH_INODE) depthOf(ino);
  return depth;
}

/** Adds each directory's direct figures to its subtree, then its subtree to its parent's, deepest first. */
function sumSubtrees(dirs: Map<bigint, DirAcc>, ordered: Array<[bigint, DirAcc]>): void {
  for (const [, d] of ordered) {
    d.bytes += d.directBytes;
    d.logical += d.directLogical;
    d.inodes += d.directInodes;
    d.rfiles += d.files;
    d.rdirs += d.dirs;
  }
  for (const [ino, d] of ordered) {
    if (ino === ROOT_INODE || ino === TRASH_INODE) continue;
    const p = dirs.get(d.parent);
    if (!p) continue;
    p.bytes += d.bytes;
    p.logical += d.logical;
    p.inodes += d.inodes;
    p.rfiles += d.rfiles;
    p.rdirs += d.rdirs;
  }
}

/**
 * Counts a hard-linked inode in each directory on the way up from any of its links, once per
 * directory however many of its links the subtree holds. A file linked both in the tree and in
 * the trash counts in the tree total only, so tree + trash + detached still add up to the counters.
 */
function addLinked(dirs: Map<bigint, DirAcc>, depth: Map<bigint, number>, l: LinkedInode, detached: { bytes: bigint; inodes: bigint }): void {
  const space = inodeSpace(l.type, l.length);
  const logical = l.type === TYPE_FILE ? l.length : 0n;
  const reachable = [...new Set(l.parents)].filter((p) => (depth.get(p) ?? -1) >= 0 && dirs.get(p)?.isDir !== false);
  if (reachable.length === 0) {
    detached.bytes += space;
    detached.inodes += 1n;
    return;
  }
  const ancestors = new Set<bigint>();
  for (const p of reachable) {
    const d = dirs.get(p)!;
    d.directBytes += space;
    d.directLogical += logical;
    d.directInodes += 1n;
    d.files += 1n;
    for (let cur = p, n = 0; n < 10_000 && !ancestors.has(cur); n++) {
      ancestors.add(cur);
      if (cur === ROOT_INODE || cur === TRASH_INODE) break;
      cur = dirs.get(cur)!.parent;
    }
  }
  if (ancestors.has(ROOT_INODE)) ancestors.delete(TRASH_INODE);
  for (const a of ancestors) {
    const d = dirs.get(a)!;
    d.bytes += space;
    d.logical += logical;
    d.inodes += 1n;
    d.rfiles += 1n;
  }
}

/** The walked directories, shallowest first, with their paths (bytes and lossy text). */
function listDirectories(dirs: Map<bigint, DirAcc>, depth: Map<bigint, number>, ordered: Array<[bigint, DirAcc]>): WalkedDirectory[] {
  // Trash sub-directories hang off TRASH_INODE, whose own parent is the root: keep them apart.
  const inTrash = (ino: bigint) => {
    for (let cur = ino, n = 0; n < 10_000; n++) {
      if (cur === TRASH_INODE) return true;
      if (cur === ROOT_INODE) return false;
      const d = dirs.get(cur);
      if (!d) return false;
      cur = d.parent;
    }
    return false;
  };
  const paths = new Map<bigint, Buffer>([
    [ROOT_INODE, Buffer.alloc(0)],
    [TRASH_INODE, Buffer.from('/.trash')],
  ]);
  const pathOf = (ino: bigint): Buffer => {
    const known = paths.get(ino);
    if (known) return known;
    const d = dirs.get(ino)!;
    const p = Buffer.concat([pathOf(d.parent), Buffer.from('/'), d.name ?? Buffer.from(`<inode ${ino}>`)]);
    paths.set(ino, p);
    return p;
  };
  return [...ordered].reverse().map(([ino, d]) => {
    const raw = ino === ROOT_INODE ? Buffer.from('/') : pathOf(ino);
    return {
      inode: ino,
      parent: d.parent,
      pathBase64: raw.toString('base64'),
      path: lossy.decode(raw),
      depth: depth.get(ino)! + (inTrash(ino) && ino !== TRASH_INODE ? 1 : ino === TRASH_INODE ? 1 : 0),
      inTrash: inTrash(ino),
      bytes: d.bytes,
      logicalBytes: d.logical,
      inodes: d.inodes,
      files: d.rfiles,
      dirs: d.rdirs,
      directBytes: d.directBytes,
      directLogicalBytes: d.directLogical,
      directInodes: d.directInodes,
    };
  });
}
