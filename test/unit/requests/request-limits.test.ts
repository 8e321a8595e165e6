/** The checks every quota request passes, volume or directory: pure functions, no database. */
import { describe, expect, it } from 'vitest';
import { askedLimits, checkAsk, fromJson, jsonLimits, parseUntil } from '../../../server/requests/request-limits.js';

const ceiling = { maxHardBytes: 1000n, maxHardInodes: 100n };
const current = { softBytes: 100n, hardBytes: 200n, softInodes: null, hardInodes: 50n };
const DAY = 86_400_000;

describe('request limits', () => {
  it('accepts a raise and names the target in every refusal', () => {
    expect(() => checkAsk('the directory /a', current, { hardBytes: 300n }, { bytes: 10n, inodes: 1n }, ceiling)).not.toThrow();
    expect(() => checkAsk('the directory /a', current, { hardBytes: 150n }, null, ceiling)).toThrow(/below the current 200/);
    expect(() => checkAsk('the directory /a', current, { softInodes: 5n }, null, ceiling)).toThrow(/unlimited today/);
    expect(() => checkAsk('the directory /a', current, { hardBytes: 200n }, null, ceiling)).toThrow(/^the directory \/a already has hardBytes 200/);
    expect(() => checkAsk('the directory /a', current, { hardBytes: 300n }, { bytes: 300n, inodes: 1n }, ceiling)).toThrow(/^the directory \/a already uses/);
    expect(() => checkAsk('the volume', current, { hardBytes: 2000n }, null, ceiling)).toThrow(expect.objectContaining({ code: 'above_platform_ceiling' }));
  });

  it('lets an admin lower limits, never below usage', () => {
    expect(() => checkAsk('the volume', current, { hardBytes: 150n }, { bytes: 10n, inodes: 1n }, ceiling, { allowLowering: true })).not.toThrow();
    expect(() => checkAsk('the volume', current, { hardBytes: 150n }, { bytes: 150n, inodes: 1n }, ceiling, { allowLowering: true })).toThrow(expect.objectContaining({ code: 'request_below_usage' }));
  });

  it('bounds temporary grants to the future and at most a year', () => {
    expect(parseUntil(undefined)).toBeNull();
    const soon = new Date(Date.now() + DAY);
    expect(parseUntil(soon.toISOString())).toEqual(soon);
    expect(() => parseUntil(new Date(Date.now() - 1000).toISOString())).toThrow(/future/);
    expect(() => parseUntil(new Date(Date.now() + 366 * DAY).toISOString())).toThrow(/365 days/);
  });

  it('round-trips limits through their JSON form', () => {
    const asked = askedLimits({ hardBytes: 300, softInodes: 7 });
    expect(asked).toEqual({ hardBytes: 300n, softInodes: 7n });
    expect(jsonLimits({ ...asked, softBytes: null })).toEqual({ hardBytes: '300', softInodes: '7', softBytes: null });
    expect(fromJson(jsonLimits(asked))).toEqual(asked);
  });
});
