import { describe, expect, it } from 'vitest';
import { derivePrefix, maxPrefixLength, withSuffix } from '../../server/volumes/prefix-allocator.js';

describe('prefix derivation', () => {
  it('joins tenant and name', () => {
    expect(derivePrefix('alice', 'data')).toBe('alice-data');
  });
  it('never exceeds 63 bytes nor ends with a dash', () => {
    const p = derivePrefix('t'.repeat(31), `${'n'.repeat(31)}-${'m'.repeat(31)}`);
    expect(p.length).toBeLessThanOrEqual(maxPrefixLength);
    expect(p).toMatch(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/);
    const dashAtCut = derivePrefix('a'.repeat(30), `${'b'.repeat(31)}-cc`);
    expect(dashAtCut.endsWith('-')).toBe(false);
  });
  it('suffixes stay within the limit and the alphabet', () => {
    for (let i = 0; i < 200; i++) {
      const s = withSuffix('z'.repeat(63));
      expect(s.length).toBeLessThanOrEqual(maxPrefixLength);
      expect(s).toMatch(/^z+-[a-z0-9]{5}$/);
    }
  });
});
