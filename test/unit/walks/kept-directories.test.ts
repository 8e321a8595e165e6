import { describe, expect, it } from 'vitest';
import { keptDirectories } from '../../../server/walks/walk-service.js';

const dir = (name: string, depth: number, bytes: number, inodes: number) => ({ name, depth, bytes: BigInt(bytes), inodes: BigInt(inodes) });

describe('keptDirectories (bounded walk results)', () => {
  it('keeps everything under the cap', () => {
    const dirs = [dir('a', 1, 1, 1), dir('b', 5, 1, 1)];
    expect(keptDirectories(dirs, 10)).toBe(dirs);
  });

  it('keeps the top levels, then the largest by bytes and by inodes, in walk order', () => {
    const dirs = [
      dir('/', 0, 100, 100),
      dir('/a', 1, 90, 10),
      dir('/a/b/c', 3, 80, 1), // big in bytes
      dir('/a/b/d', 3, 1, 50), // many files
      dir('/a/b/e', 3, 2, 2),
      dir('/a/b/f', 3, 3, 3),
    ];
    const kept = keptDirectories(dirs, 4).map((d) => d.name);
    expect(kept).toEqual(['/', '/a', '/a/b/c', '/a/b/d']);
  });
});
