/**
 * The soak's load generator: several principals calling the API in loops, with per-route
 * latency and status counts. Latencies are kept in a bounded reservoir per route, so a long
 * soak measures the server's memory, not the generator's.
 */

/** One call a principal makes: a label for the report and how to make it. */
export interface Call {
  route: string;
  method: string;
  path: string;
  body?: object;
  /** Statuses that are a correct answer for this call (4xx included where expected). */
  ok: number[];
}

const RESERVOIR = 4096;

/** Counts and latencies per route, and answers by status. */
export class LoadStats {
  readonly byStatus = new Map<number, number>();
  readonly unexpected: string[] = [];
  private readonly latency = new Map<string, { seen: number; sample: number[] }>();
  served = 0;

  record(c: Call, status: number, ms: number): void {
    this.served++;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    if (!c.ok.includes(status) && this.unexpected.length < 20) this.unexpected.push(`${c.method} ${c.path} -> ${status}`);
    const l = this.latency.get(c.route) ?? { seen: 0, sample: [] };
    l.seen++;
    // Reservoir sampling: every answer has the same chance to be in the sample.
    if (l.sample.length < RESERVOIR) l.sample.push(ms);
    else {
      const j = Math.floor(Math.random() * l.seen);
      if (j < RESERVOIR) l.sample[j] = ms;
    }
    this.latency.set(c.route, l);
  }

  /** p99 per route, slowest first. */
  p99s(): { route: string; calls: number; p99: number }[] {
    return [...this.latency.entries()]
      .map(([route, l]) => {
        const s = [...l.sample].sort((a, b) => a - b);
        return { route, calls: l.seen, p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0 };
      })
      .sort((a, b) => b.p99 - a.p99);
  }

  count5xx(): number {
    return [...this.byStatus.entries()].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
  }
}

/** Calls `pick()` in a loop until `signal` aborts, recording every answer. */
export async function worker(base: string, token: string, pick: () => Call, stats: LoadStats, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const c = pick();
    const started = performance.now();
    let status = 0;
    try {
      const res = await fetch(base + c.path, {
        method: c.method,
        headers: { authorization: `Bearer ${token}`, ...(c.body ? { 'content-type': 'application/json' } : {}) },
        body: c.body ? JSON.stringify(c.body) : undefined,
      });
      await res.arrayBuffer();
      status = res.status;
    } catch {
      status = 599; // connection failure: counted as a server error
    }
    stats.record(c, status, performance.now() - started);
  }
}
