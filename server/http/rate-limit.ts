/**
 * Rate limits: per client address for calls without a valid token, per principal (`sub`) for
 * authenticated ones. Counts are shared by every replica through Redis (one atomic Lua script
 * per hit) with a sliding-window estimate: the previous fixed window's count weighted by how
 * much of it still overlaps the sliding window, plus the current window's count. That needs
 * two small keys per caller, and is within a few per cent of an exact sliding log.
 *
 * When Redis does not answer, the limiter fails open onto an in-process copy of the same
 * algorithm (each replica then limits alone), and logs once per outage, not once per request.
 */
import { createHash } from 'node:crypto';
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { ApiError, errors } from '../lib/errors.js';
import type { RedisWatch } from '../lib/redis-watch.js';
import './request-context.js';

/** The outcome of one counted request. */
export interface RateDecision {
  allowed: boolean;
  /** When a refused caller may try again (0 when allowed). */
  retryAfterMs: number;
}

/** The raw counts one hit saw: previous and current window, and how far into the current it is. */
export interface WindowCounts {
  allowed: boolean;
  prev: number;
  cur: number;
  elapsedMs: number;
}

/** Requests the sliding window holds now: the overlapping share of the previous window plus this one. */
export function slidingEstimate(prev: number, cur: number, elapsedMs: number, windowMs: number): number {
  return (prev * (windowMs - elapsedMs)) / windowMs + cur;
}

/** How long until one more request fits under `limit`, from the counts a refused hit saw. */
export function retryAfterMs(c: Omit<WindowCounts, 'allowed'>, windowMs: number, limit: number): number {
  const room = limit - 1;
  if (c.cur > room) {
    // Not before the next window, and then only once this window's share has decayed enough.
    return windowMs - c.elapsedMs + Math.ceil(windowMs * (1 - room / c.cur));
  }
  if (c.prev === 0) return 0;
  return Math.max(0, Math.ceil(windowMs * (1 - (room - c.cur) / c.prev) - c.elapsedMs));
}

/** Where counts live. */
export interface RateStore {
  /** Counts one request under `key` unless that would pass `limit`. */
  hit(key: string, limit: number, windowMs: number): Promise<WindowCounts>;
}

/** In-process counts: the single-instance store and the fallback while Redis is unreachable. */
export class LocalRateStore implements RateStore {
  private readonly windows = new Map<string, { idx: number; prev: number; cur: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    /** Entries kept before stale ones are swept (bounds memory under address churn). */
    private readonly maxEntries = 50_000,
  ) {}

  async hit(key: string, limit: number, windowMs: number): Promise<WindowCounts> {
    const now = this.now();
    const idx = Math.floor(now / windowMs);
    let w = this.windows.get(key);
    if (!w) {
      if (this.windows.size >= this.maxEntries) this.sweep(idx);
      w = { idx, prev: 0, cur: 0 };
      this.windows.set(key, w);
    } else if (w.idx !== idx) {
      w.prev = w.idx === idx - 1 ? w.cur : 0;
      w.cur = 0;
      w.idx = idx;
    }
    const elapsedMs = now - idx * windowMs;
    if (slidingEstimate(w.prev, w.cur, elapsedMs, windowMs) + 1 > limit) return { allowed: false, prev: w.prev, cur: w.cur, elapsedMs };
    w.cur++;
    return { allowed: true, prev: w.prev, cur: w.cur, elapsedMs };
  }

  private sweep(idx: number): void {
    for (const [k, w] of this.windows) if (w.idx < idx - 1) this.windows.delete(k);
    // Still full (a flood of distinct addresses in one window): start over rather than grow.
    if (this.windows.size >= this.maxEntries) this.windows.clear();
  }
}

// Redis's own clock, so replicas with skewed clocks still share one window. Same estimate as
// slidingEstimate(); the increment happens only when the request fits, so refused calls cost nothing.
const hitScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local win = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local idx = math.floor(now / win)
local ck = KEYS[1] .. ':' .. string.format('%d', idx)
local pk = KEYS[1] .. ':' .. string.format('%d', idx - 1)
local cur = tonumber(redis.call('GET', ck) or '0')
local prev = tonumber(redis.call('GET', pk) or '0')
local elapsed = now - idx * win
if prev * (win - elapsed) / win + cur + 1 > limit then
  return {0, prev, cur, elapsed}
end
cur = redis.call('INCR', ck)
if cur == 1 then redis.call('PEXPIRE', ck, win * 2) end
return {1, prev, cur, elapsed}`;

type HitCommand = { headroomRateHit(key: string, windowMs: string, limit: string): Promise<[number, number, number, number]> };

/** Counts in Redis, shared by replicas; falls back to `local` whenever Redis fails. */
export class RedisRateStore implements RateStore {
  constructor(
    private readonly redis: Redis,
    private readonly watch: RedisWatch,
    private readonly local: RateStore = new LocalRateStore(),
    private readonly keyPrefix = 'headroom:rl:',
  ) {
    redis.defineCommand('headroomRateHit', { numberOfKeys: 1, lua: hitScript });
    watch.watch(redis);
  }

  async hit(key: string, limit: number, windowMs: number): Promise<WindowCounts> {
    try {
      const [ok, prev, cur, elapsedMs] = await (this.redis as unknown as HitCommand).headroomRateHit(this.keyPrefix + key, String(windowMs), String(limit));
      this.watch.recovered();
      return { allowed: ok === 1, prev, cur, elapsedMs };
    } catch (err) {
      this.watch.failed(err as Error);
      return this.local.hit(key, limit, windowMs);
    }
  }
}

/** Limits per window; 0 turns a limit off. */
export interface RateLimits {
  windowMs: number;
  /** Per client address, for calls without a valid token. */
  anonymous: number;
  /** Per principal (`sub`). */
  authenticated: number;
}

/** Counts requests against {@link RateLimits} in a {@link RateStore}. */
export class RateLimiter {
  constructor(
    private readonly store: RateStore,
    readonly limits: RateLimits,
  ) {}

  /** Counts one request of `who`; keys are hashed so any `sub` or address makes a short key. */
  async hit(kind: 'anonymous' | 'authenticated', who: string): Promise<RateDecision> {
    const limit = this.limits[kind];
    if (limit <= 0) return { allowed: true, retryAfterMs: 0 };
    const key = `${kind === 'anonymous' ? 'a' : 'p'}:${createHash('sha256').update(who).digest('base64url').slice(0, 22)}`;
    const c = await this.store.hit(key, limit, this.limits.windowMs);
    return c.allowed ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: Math.max(1000, retryAfterMs(c, this.limits.windowMs, limit)) };
  }
}

/** The client address the anonymous limit counts (the proxy's view when TRUST_PROXY is on). */
function addressOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** Paths never limited: probes and scrapes must keep working while a caller floods the API. */
const EXEMPT = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The three places the limiter sits in the middleware chain: before authentication (calls
 * carrying no token are counted by address), after it (by principal), and on its failures (a
 * call with a bad token is counted by address, so guessing tokens is limited too).
 */
export function rateLimitMiddleware(limiter: RateLimiter): { beforeAuth: RequestHandler; afterAuth: RequestHandler; onAuthFailure: ErrorRequestHandler } {
  const refuse = async (req: Request, res: Parameters<RequestHandler>[1], kind: 'anonymous' | 'authenticated', who: string): Promise<ApiError | undefined> => {
    const d = await limiter.hit(kind, who);
    if (d.allowed) return undefined;
    const seconds = Math.ceil(d.retryAfterMs / 1000);
    res.set('retry-after', String(seconds));
    return errors.rateLimited(seconds);
  };
  return {
    beforeAuth: (req, res, next) => {
      if (EXEMPT.has(req.path)) return next();
      // A /v1 call with a token is counted once we know whether the token is valid.
      if (req.path.startsWith('/v1/') && req.headers.authorization) return next();
      refuse(req, res, 'anonymous', addressOf(req)).then((e) => next(e), next);
    },
    afterAuth: (req, res, next) => {
      if (!req.principal) return next();
      refuse(req, res, 'authenticated', req.principal.sub).then((e) => next(e), next);
    },
    onAuthFailure: (err, req, res, next) => {
      if (!(err instanceof ApiError) || err.status !== 401 || !req.headers.authorization) return next(err);
      refuse(req, res, 'anonymous', addressOf(req)).then((e) => next(e ?? err), next);
    },
  };
}
