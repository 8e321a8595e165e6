import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenBucket } from '../../../server/jobs/token-bucket.js';

describe('TokenBucket (read budget)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('lets a second of burst through, then paces to the rate', async () => {
    const b = new TokenBucket(1000);
    await b.take(1000); // the burst
    let done = false;
    const p = b.take(500).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(499);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(2);
    await p;
    expect(done).toBe(true);
  });

  it('charges pages larger than the burst over time, and refills while idle', async () => {
    const b = new TokenBucket(100);
    const p = b.take(350); // 100 available, 250 owed: 2.5 s
    await vi.advanceTimersByTimeAsync(2499);
    let done = false;
    void p.then(() => (done = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(2);
    expect(done).toBe(true);
    await vi.advanceTimersByTimeAsync(5000); // idle: refills to the burst, no more
    const t0 = Date.now();
    await b.take(100);
    expect(Date.now() - t0).toBe(0);
  });

  it('stops waiting when aborted', async () => {
    const b = new TokenBucket(10);
    await b.take(10);
    const c = new AbortController();
    const p = b.take(100, c.signal);
    c.abort(new Error('deadline'));
    await expect(p).rejects.toThrow('deadline');
  });
});
