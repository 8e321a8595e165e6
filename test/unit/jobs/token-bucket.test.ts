import { getEventListeners } from 'node:events';
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
    let now = false;
    void b.take(100).then(() => (now = true));
    await vi.advanceTimersByTimeAsync(0); // microtasks only: no time passes
    expect(now).toBe(true);
    let later = false;
    void b.take(1).then(() => (later = true)); // the burst is spent: this one waits
    await vi.advanceTimersByTimeAsync(0);
    expect(later).toBe(false);
    await vi.advanceTimersByTimeAsync(10);
    expect(later).toBe(true);
  });

  it('removes its abort listener after every wait', async () => {
    const b = new TokenBucket(1000);
    const c = new AbortController();
    for (let i = 0; i < 20; i++) {
      const p = b.take(1000, c.signal);
      await vi.advanceTimersByTimeAsync(1000);
      await p;
    }
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
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
