import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLostError, LocalLease, RedisLease, type LocalLeaseRegistry } from '../../../server/jobs/lease.js';
import { redisAvailable, redisClient } from '../../support/redis.js';

const available = await redisAvailable();

describe.skipIf(!available)('RedisLease against real Redis', () => {
  let a: Redis;
  let b: Redis;
  beforeAll(() => {
    a = redisClient(11);
    b = redisClient(11);
  });
  afterAll(async () => {
    await a?.quit();
    await b?.quit();
  });

  it('exactly one of two instances acquires; the other takes over after the holder dies', async () => {
    const name = `t-${randomUUID()}`;
    const one = new RedisLease(a, name, 300);
    const two = new RedisLease(b, name, 300);
    const [x, y] = await Promise.all([one.acquire(), two.acquire()]);
    expect([x, y].filter(Boolean)).toHaveLength(1);
    const [holder, other] = x ? [one, two] : [two, one];
    expect(await other.acquire()).toBe(false);
    await holder.assertHeld();
    // The holder "dies": it stops renewing. Within the TTL the other still cannot take it.
    await new Promise((r) => setTimeout(r, 100));
    expect(await other.acquire()).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(await other.acquire()).toBe(true);
    // The old holder must notice before writing anything.
    await new Promise((r) => setTimeout(r, 250)); // past its local 80 % deadline
    await expect(holder.assertHeld()).rejects.toBeInstanceOf(LeaseLostError);
    expect(await holder.renew()).toBe(false);
    // And its release must not delete the new holder's lease.
    await holder.release();
    expect(await other.renew()).toBe(true);
    await other.release();
    expect(await a.exists(`headroom:lease:${name}`)).toBe(0);
  });

  it('renewal keeps a lease alive past its TTL', async () => {
    const name = `t-${randomUUID()}`;
    const one = new RedisLease(a, name, 200);
    const two = new RedisLease(b, name, 200);
    expect(await one.acquire()).toBe(true);
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 80));
      expect(await one.renew()).toBe(true);
    }
    expect(await two.acquire()).toBe(false);
    await one.release();
    expect(await two.acquire()).toBe(true);
    await two.release();
  });
});

describe('LocalLease', () => {
  it('is exclusive within one registry', async () => {
    const registry: LocalLeaseRegistry = new Map();
    const one = new LocalLease('job', registry);
    const two = new LocalLease('job', registry);
    expect(await one.acquire()).toBe(true);
    expect(await two.acquire()).toBe(false);
    await expect(two.assertHeld()).rejects.toBeInstanceOf(LeaseLostError);
    await one.release();
    expect(await two.acquire()).toBe(true);
  });
});
