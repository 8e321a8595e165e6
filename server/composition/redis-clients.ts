/**
 * The Redis clients of the app itself (not the Redis metadata engine): the scheduler's leases,
 * which a paused Redis must not hang (commands time out and the run records it), and the rate
 * limits shared by replicas, which fall back to local counts at once when Redis is down.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AppConfig } from '../config.js';
import { LocalRateStore, RateLimiter, RedisRateStore } from '../http/rate-limit.js';
import { leaseNameOf } from '../jobs/jobs.js';
import { LocalLease, RedisLease, type LocalLeaseRegistry } from '../jobs/lease.js';
import { RedisWatch } from '../lib/redis-watch.js';

/** Builds the lease factory and the rate limiter; `redis` and `rateRedis` are for closing. */
export function buildRedisClients(c: Pick<AppConfig, 'jobs' | 'rateLimit'>, log: Logger) {
  // A command to a paused lease Redis times out (the run records it) instead of hanging the pass.
  const leaseCommandTimeout = Math.max(500, Math.floor(c.jobs.leaseTtlMs / 4));
  const leaseWatch = new RedisWatch(log, 'lease store');
  const redis = c.jobs.redisUrl ? leaseWatch.watch(new Redis(c.jobs.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true, commandTimeout: leaseCommandTimeout })) : undefined;
  // Rate-limit counts, shared by replicas through the same Redis: no offline queue and a short
  // command timeout, so a Redis outage costs a request at most 250 ms before the local fallback.
  const rateRedis = c.jobs.redisUrl ? new Redis(c.jobs.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 250 }) : undefined;
  const rateLimiter = new RateLimiter(rateRedis ? new RedisRateStore(rateRedis, new RedisWatch(log, 'rate limits')) : new LocalRateStore(), c.rateLimit);
  const localLeases: LocalLeaseRegistry = new Map();
  const leaseFor = (job: string) => (redis ? new RedisLease(redis, leaseNameOf(job), c.jobs.leaseTtlMs, { watch: leaseWatch }) : new LocalLease(leaseNameOf(job), localLeases));
  return { redis, rateRedis, rateLimiter, leaseFor };
}
