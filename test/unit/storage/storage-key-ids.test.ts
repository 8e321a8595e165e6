/** Rotated access key ids carry their issue time (storage-credentials.ts keeps no other record). */
import { describe, expect, it } from 'vitest';
import { issuedAtOf, newAccessKey } from '../../../server/storage/storage-credentials.js';

describe('rotated access key ids', () => {
  it('are 20 characters and give back the time they were issued', () => {
    for (const t of [0, 1, 1_796_000_000_000, Date.now()]) {
      const k = newAccessKey(t);
      expect(k).toMatch(/^HRT[0-9A-Z]{17}$/);
      expect(issuedAtOf(k)).toBe(t);
    }
  });

  it("know nothing of onboarding's keys", () => {
    expect(issuedAtOf('HR0123456789ABCDEF01')).toBeUndefined();
    expect(issuedAtOf('HRTSHORT')).toBeUndefined();
  });

  it('differ when issued in the same millisecond', () => {
    const keys = new Set(Array.from({ length: 100 }, () => newAccessKey(1_796_000_000_000)));
    expect(keys.size).toBe(100);
  });
});
