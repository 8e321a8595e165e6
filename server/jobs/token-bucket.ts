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
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, waitMs);
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(signal.reason as Error);
      }, { once: true });
    });
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.ratePerSecond, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
  }
}
