/**
 * One backoff budget per logical request, in the manner of TiKV client-go's `Backoffer`: every
 * retry anywhere in the call tree (PD leader changes, region errors, store failures, locks)
 * sleeps from the same budget, each error kind with its own named growth (base, cap, full
 * jitter), so a request can never retry for longer than its deadline, and the error it ends
 * with names every cause it met.
 */

/** How one kind of error backs off: `base·2^n` capped at `cap` ms, with full jitter. */
export interface BackoffKind {
  readonly name: string;
  readonly baseMs: number;
  readonly capMs: number;
}

/** The kinds the TiKV and PD clients retry on. */
export const BACKOFF = {
  pdRpc: { name: 'pdRPC', baseMs: 50, capMs: 1000 },
  tso: { name: 'tso', baseMs: 50, capMs: 1000 },
  regionMiss: { name: 'regionMiss', baseMs: 20, capMs: 500 },
  storeRpc: { name: 'storeRPC', baseMs: 100, capMs: 2000 },
  notLeader: { name: 'notLeader', baseMs: 2, capMs: 500 },
  epochNotMatch: { name: 'epochNotMatch', baseMs: 2, capMs: 500 },
  serverBusy: { name: 'serverBusy', baseMs: 100, capMs: 2000 },
  staleCommand: { name: 'staleCommand', baseMs: 2, capMs: 1000 },
  storeNotMatch: { name: 'storeNotMatch', baseMs: 2, capMs: 500 },
  regionError: { name: 'regionError', baseMs: 2, capMs: 500 },
  txnLock: { name: 'txnLock', baseMs: 2, capMs: 3000 },
} as const satisfies Record<string, BackoffKind>;

/** Carries one request's retry budget through its call tree. */
export class Backoffer {
  private readonly deadline: number;
  private readonly counts = new Map<string, number>();
  private readonly causes: string[] = [];
  private sleptMs = 0;

  constructor(
    /** Longest the request may take, sleeping included. */
    private readonly budgetMs: number,
    /** Builds the error thrown when the budget is spent (given a summary of every cause). */
    private readonly exhausted: (summary: string) => Error,
  ) {
    this.deadline = Date.now() + budgetMs;
  }

  /** Times `kind` has backed off so far (0 before the first). */
  attempts(kind?: BackoffKind): number {
    if (kind) return this.counts.get(kind.name) ?? 0;
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /** Whether the request's deadline has passed (or passes within `marginMs`). */
  expired(marginMs = 0): boolean {
    return Date.now() + marginMs > this.deadline;
  }

  /**
   * Sleeps before the next attempt, `fixedMs` when the server said how long (server-is-busy), or
   * by `kind`'s growth; throws the exhausted error when the sleep would pass the deadline.
   */
  async backoff(kind: BackoffKind, cause: string, fixedMs?: number): Promise<void> {
    const n = this.counts.get(kind.name) ?? 0;
    this.causes.push(`${kind.name}: ${cause}`);
    const ms = fixedMs ?? Math.random() * Math.min(kind.capMs, kind.baseMs * 2 ** n);
    if (Date.now() + ms > this.deadline) throw this.exhausted(this.summary());
    this.counts.set(kind.name, n + 1);
    this.sleptMs += ms;
    await new Promise((r) => setTimeout(r, ms));
  }

  /** Throws the exhausted error if the deadline has passed. */
  check(): void {
    if (this.expired()) throw this.exhausted(this.summary());
  }

  /** "3 retries, 812 ms slept of a 10000 ms budget (notLeader×2, storeRPC×1); last: …" (the last cause may be the one refused) */
  summary(): string {
    const kinds = [...this.counts].map(([k, c]) => `${k}×${c}`).join(', ');
    const last = this.causes.slice(-3).join('; ');
    return `${this.attempts()} retries, ${Math.round(this.sleptMs)} ms slept of a ${this.budgetMs} ms budget${kinds ? ` (${kinds})` : ''}${last ? `; last: ${last}` : ''}`;
  }
}
