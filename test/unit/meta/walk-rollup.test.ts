/** The walk roll-up: subtree sums, and hard-linked files counted per subtree but once in total. */
import { describe, expect, it } from 'vitest';
import { ROOT_INODE, TRASH_INODE } from '../../../server/meta/tkv/keys.js';
import { TYPE_DIR, TYPE_FILE } from '../../../server/meta/tkv/records.js';
import { addDirectChild, newAcc, rollUp, type DirAcc } from '../../../server/meta/walk-rollup.js';

/** `/a`, `/a/c`, `/b` and a trash hour dir, as a walk would have collected them. */
function tree() {
  const dirs = new Map<bigint, DirAcc>();
  const dir = (ino: bigint, parent: bigint, name: string) => {
    const d = { ...newAcc(), isDir: true, parent, name: Buffer.from(name) };
    dirs.set(ino, d);
    if (ino !== ROOT_INODE && ino !== TRASH_INODE) addDirectChild(dirs.get(parent)!, TYPE_DIR, 4096n);
    return d;
  };
  dir(ROOT_INODE, 0n, '');
  dir(TRASH_INODE, ROOT_INODE, '.trash');
  dir(2n, ROOT_INODE, 'a');
  dir(3n, ROOT_INODE, 'b');
  dir(4n, 2n, 'c');
  dir(TRASH_INODE + 1n, TRASH_INODE, '2026-12-01-08');
  addDirectChild(dirs.get(4n)!, TYPE_FILE, 10n);
  return dirs;
}

describe('rollUp', () => {
  it('counts a hard-linked file in every directory whose subtree holds a link, once in the total', () => {
    // Links in /a, /a/c (twice: same directory) and /b.
    const w = rollUp(tree(), 0, undefined, [{ ino: 10n, type: TYPE_FILE, length: 5000n, parents: [2n, 4n, 4n, 3n] }]);
    const by = new Map(w.directories.map((d) => [d.path, d]));
    expect(by.get('/a/c')).toMatchObject({ bytes: 4096n + 8192n, logicalBytes: 10n + 5000n, inodes: 2n, files: 2n, directInodes: 2n });
    expect(by.get('/a')).toMatchObject({ bytes: 4096n + 4096n + 8192n, inodes: 3n, files: 2n, dirs: 1n, directInodes: 2n });
    expect(by.get('/b')).toMatchObject({ bytes: 8192n, inodes: 1n, files: 1n });
    // Root: dirs a, b, c, the 10-byte file and the linked file once.
    expect(w.tree).toEqual({ bytes: 3n * 4096n + 4096n + 8192n, logicalBytes: 5010n, inodes: 5n });
    expect(w.trash.inodes).toBe(1n);
  });

  it('counts a file linked in the tree and in the trash in the tree total only; unreachable links as detached', () => {
    const w = rollUp(tree(), 0, undefined, [
      { ino: 10n, type: TYPE_FILE, length: 1n, parents: [3n, TRASH_INODE + 1n] },
      { ino: 11n, type: TYPE_FILE, length: 1n, parents: [99n, 98n] },
    ]);
    const by = new Map(w.directories.map((d) => [d.path, d]));
    expect(by.get('/.trash/2026-12-01-08')).toMatchObject({ inodes: 1n, bytes: 4096n });
    expect(w.trash.inodes).toBe(1n); // the hour directory only: the file is in the tree total
    expect(w.tree.inodes).toBe(5n);
    expect(w.detached).toEqual({ bytes: 4096n, inodes: 1n });
  });
});
