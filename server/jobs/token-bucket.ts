/**
 * A token bucket for read budgets: `take(n)` waits until `n` tokens (keys) are available at
 * `ratePerSecond`, with a burst of one second's worth. Several walks share one bucket for the
 * total budget and each has its own for the per-walk budget.
 */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly ratePerSecond: number) {
    this.tokens = ratePerSecond;
  }

  /** Waits until `n` tokens are available and takes them; a request above the burst is paid over time. */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    this.refill();
    this.tokens -= n;
    if (this.tokens >= 0) return;
    // In debt: wait until the debt is paid off at the refill rate.
    const waitMs = (-this.tokens / this.ratePerSecond) * 1000;
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      // The listener is removed when the wait ends either way: a long walk waits thousands of
      // times on one signal, and leaked listeners pile up (and make Node warn).
      const onAbort = () => {
        clearTimeout(t);
        reject(signal!.reason as Error);
      };
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.ratePerSecond, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
  }
}
