/**
 * A walk's directories as a tree the rules can ask questions of: children by name, ancestors,
 * "keep only the outermost of these". Built once per walk from the directory list every walk
 * returns (all directories, before the walk service keeps its selection).
 */
import type { DirectoryUsage } from '../meta/volume-metadata.js';

/** A walked directory with what the tree adds (its name and parent inode). */
export interface TreeDir extends DirectoryUsage {
  name: string;
  parentInode: bigint | undefined;
}

/** Index of one walk's directories. */
export class WalkTree {
  readonly dirs: TreeDir[];
  private readonly byInode = new Map<bigint, TreeDir>();
  private readonly children = new Map<bigint, TreeDir[]>();

  constructor(directories: readonly DirectoryUsage[]) {
    const parentOf = new Map<string, bigint>();
    for (const d of directories) parentOf.set(d.path, d.inode);
    this.dirs = directories.map((d) => {
      const cut = d.path.lastIndexOf('/');
      const parentPath = cut <= 0 ? '/' : d.path.slice(0, cut);
      const parent = 'parent' in d && typeof d.parent === 'bigint' ? d.parent : d.path === '/' ? undefined : parentOf.get(parentPath);
      return { ...d, name: d.path === '/' ? '' : d.path.slice(cut + 1), parentInode: parent };
    });
    for (const d of this.dirs) {
      this.byInode.set(d.inode, d);
      if (d.parentInode === undefined || d.path === '/') continue;
      const list = this.children.get(d.parentInode) ?? [];
      list.push(d);
      this.children.set(d.parentInode, list);
    }
  }

  /** Directories outside the trash. */
  live(): TreeDir[] {
    return this.dirs.filter((d) => !d.inTrash);
  }

  childrenOf(d: TreeDir): TreeDir[] {
    return this.children.get(d.inode) ?? [];
  }

  child(d: TreeDir, name: string): TreeDir | undefined {
    return this.childrenOf(d).find((c) => c.name === name);
  }

  parentOf(d: TreeDir): TreeDir | undefined {
    return d.parentInode === undefined ? undefined : this.byInode.get(d.parentInode);
  }

  /** The outermost of `set`: drops every directory with an ancestor in it (no double counting). */
  outermost(set: readonly TreeDir[]): TreeDir[] {
    const inSet = new Set(set.map((d) => d.inode));
    return set.filter((d) => {
      for (let p = this.parentOf(d), n = 0; p && n < 10_000; p = this.parentOf(p), n++) if (inSet.has(p.inode)) return false;
      return true;
    });
  }
}
