/**
 * Leader leases: only the holder of a job's lease runs it. With Redis, a lease is a key set with
 * `SET NX PX` to a random token, renewed by a script that extends it only if the token still
 * matches, and released the same way; without Redis, an in-process lock (one instance only).
 *
 * A holder must call `assertHeld()` before every external write: the lease may have expired
 * while it was paused (GC, slow I/O), and another instance may already be the leader.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisWatch } from '../lib/redis-watch.js';

/** Raised by {@link Lease.assertHeld} when the lease was lost; the job must stop writing. */
export class LeaseLostError extends Error {
  constructor(name: string) {
    super(`lease "${name}" is no longer held by this instance`);
    this.name = 'LeaseLostError';
  }
}

/**
 * Raised when the lease store (Redis) does not answer: nobody can say who holds the lease, so
 * the job must not run, and the run is recorded as that, not as "another instance holds it".
 */
export class LeaseStoreUnavailableError extends Error {
  constructor(name: string, cause: unknown) {
    super(`the lease store could not be reached, so lease "${name}" could not be taken or kept: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'LeaseStoreUnavailableError';
  }
}

/** A named lease that one instance at a time can hold. */
export interface Lease {
  readonly name: string;
  /** Tries to take the lease; true if this instance now holds it ({@link LeaseStoreUnavailableError} if nobody can tell). */
  acquire(): Promise<boolean>;
  /** Extends a held lease; false (and no longer held) if it was lost. */
  renew(): Promise<boolean>;
  /** Throws {@link LeaseLostError} unless the lease is held and not past its local deadline. */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

// Extend/delete only if the stored token is ours: a plain PEXPIRE/DEL could act on a lease that
// expired and was taken by someone else.
const renewScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const releaseScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** Redis-backed lease with a local safety deadline shorter than the TTL. */
export class RedisLease implements Lease {
  private readonly token = randomUUID();
  private heldUntil = 0;

  constructor(
    private readonly redis: Redis,
    readonly name: string,
    private readonly ttlMs: number,
    /** `watch` logs the store's outages once each, timed-out commands included (no client event for those). */
    private readonly opts: { keyPrefix?: string; watch?: RedisWatch } = {},
  ) {}

  private get key(): string {
    return (this.opts.keyPrefix ?? 'headroom:lease:') + this.name;
  }

  /** Local deadline: trust the lease only until 80 % of the TTL after the last confirmation. */
  private confirm(startedAt: number): void {
    this.heldUntil = startedAt + this.ttlMs * 0.8;
  }

  /** Runs a command, turning any failure to reach Redis into {@link LeaseStoreUnavailableError}. */
  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      const out = await command();
      this.opts.watch?.recovered();
      return out;
    } catch (err) {
      this.opts.watch?.failed(err as Error);
      throw new LeaseStoreUnavailableError(this.name, err);
    }
  }

  async acquire(): Promise<boolean> {
    const started = Date.now();
    const ok = await this.call(() => this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX'));
    if (ok === 'OK') {
      this.confirm(started);
      return true;
    }
    // We may already hold it (e.g. a previous acquire whose reply we lost).
    return this.renew();
  }

  async renew(): Promise<boolean> {
    const started = Date.now();
    const n = (await this.call(() => this.redis.eval(renewScript, 1, this.key, this.token, String(this.ttlMs)))) as number;
    if (n === 1) {
      this.confirm(started);
      return true;
    }
    this.heldUntil = 0;
    return false;
  }

  async assertHeld(): Promise<void> {
    if (Date.now() < this.heldUntil) return;
    if (!(await this.renew())) throw new LeaseLostError(this.name);
  }

  async release(): Promise<void> {
    this.heldUntil = 0;
    await this.call(() => this.redis.eval(releaseScript, 1, this.key, this.token));
  }
}

/** Who holds which in-process lease; one registry per process, built in the composition root. */
export type LocalLeaseRegistry = Map<string, LocalLease>;

/** In-process lease for single-instance deployments (no REDIS_URL). */
export class LocalLease implements Lease {
  constructor(
    readonly name: string,
    private readonly holders: LocalLeaseRegistry,
  ) {}

  async acquire(): Promise<boolean> {
    const holder = this.holders.get(this.name);
    if (holder && holder !== this) return false;
    this.holders.set(this.name, this);
    return true;
  }

  async renew(): Promise<boolean> {
    return this.holders.get(this.name) === this;
  }

  async assertHeld(): Promise<void> {
    if (!(await this.renew())) throw new LeaseLostError(this.name);
  }

  async release(): Promise<void> {
    if (this.holders.get(this.name) === this) this.holders.delete(this.name);
  }
}
