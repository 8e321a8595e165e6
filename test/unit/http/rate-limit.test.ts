/** The sliding-window estimate, its Retry-After and the in-process store (a fake clock). */
import { describe, expect, it } from 'vitest';
import { LocalRateStore, RateLimiter, retryAfterMs, slidingEstimate } from '../../../server/http/rate-limit.js';

describe('sliding-window rate limits', () => {
  it('weights the previous window by its overlap', () => {
    expect(slidingEstimate(10, 0, 0, 1000)).toBe(10);
    expect(slidingEstimate(10, 2, 500, 1000)).toBe(7);
    expect(slidingEstimate(10, 2, 999, 1000)).toBeCloseTo(2.01);
  });

  it('refuses the request past the limit and admits it again once the estimate decays', async () => {
    let now = 10_000; // the start of a window
    const limiter = new RateLimiter(new LocalRateStore(() => now), { windowMs: 1000, anonymous: 0, authenticated: 10 });
    for (let i = 0; i < 10; i++) expect((await limiter.hit('authenticated', 'alice')).allowed).toBe(true);
    const refused = await limiter.hit('authenticated', 'alice');
    expect(refused.allowed).toBe(false);
    // Another principal has its own budget.
    expect((await limiter.hit('authenticated', 'bob')).allowed).toBe(true);
    // Half-way into the next window the previous 10 count for 5: five more fit, not six.
    now = 11_500;
    let admitted = 0;
    while ((await limiter.hit('authenticated', 'alice')).allowed) admitted++;
    expect(admitted).toBe(5);
    const again = await limiter.hit('authenticated', 'alice');
    expect(again.allowed).toBe(false);
    // It says when: at 600 ms the previous window counts 4, 4 + 5 + 1 fits (Retry-After is at least a second).
    expect(retryAfterMs({ prev: 10, cur: 5, elapsedMs: 500 }, 1000, 10)).toBe(100);
    now = 11_600;
    expect((await limiter.hit('authenticated', 'alice')).allowed).toBe(true);
    expect((await limiter.hit('authenticated', 'alice')).allowed).toBe(false);
  });

  it('waits into the next window when the current one alone is full', () => {
    // 10 in this window, 300 ms in: 700 ms to its end, then until 10 × overlap < 10.
    expect(retryAfterMs({ prev: 0, cur: 10, elapsedMs: 300 }, 1000, 10)).toBe(700 + 100);
  });

  it('turns a limit of 0 off', async () => {
    const limiter = new RateLimiter(new LocalRateStore(), { windowMs: 1000, anonymous: 0, authenticated: 1 });
    for (let i = 0; i < 100; i++) expect((await limiter.hit('anonymous', '10.0.0.1')).allowed).toBe(true);
  });
});
