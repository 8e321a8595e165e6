import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { TokenCache } from '../../../server/auth/token-cache.js';
import type { Principal } from '../../../server/auth/principal.js';

const at = (expSeconds: number, sub = 'eve') => jwt.sign({ sub, exp: expSeconds }, 'k'.repeat(32));
const eve: Principal = { sub: 'eve', role: 'engineer', tenants: ['acme'] };

describe('TokenCache', () => {
  it('remembers a token for a minute at most, and never past its exp', () => {
    let now = 1_000_000_000_000;
    const cache = new TokenCache(10, () => now);
    const long = at(now / 1000 + 3600, 'long');
    const short = at(now / 1000 + 10, 'short');
    cache.set(long, { ...eve, sub: 'long' });
    cache.set(short, { ...eve, sub: 'short' });
    expect(cache.get(long)?.sub).toBe('long');
    now += 10_000; // the short token's exp
    expect(cache.get(short)).toBeUndefined();
    expect(cache.get(long)?.sub).toBe('long');
    now += 50_000; // a minute after it was remembered
    expect(cache.get(long)).toBeUndefined();
  });

  it('is bounded (the oldest goes first), keys by the exact token, and hands out frozen principals', () => {
    const now = 1_000_000_000_000;
    const cache = new TokenCache(2, () => now);
    const [a, b, c] = ['a', 'b', 'c'].map((s) => at(now / 1000 + 3600, s));
    cache.set(a!, { ...eve, sub: 'a' });
    cache.set(b!, { ...eve, sub: 'b' });
    cache.set(c!, { ...eve, sub: 'c' });
    expect([cache.get(a!), cache.get(b!)?.sub, cache.get(c!)?.sub]).toEqual([undefined, 'b', 'c']);
    expect(cache.get(`${b}x`)).toBeUndefined();
    expect(Object.isFrozen(cache.get(b!))).toBe(true);
    cache.set(jwt.sign({ sub: 'x' }, 'k'.repeat(32)), eve); // no exp: not remembered
    expect(cache.get(b!)?.sub).toBe('b');
  });
});
