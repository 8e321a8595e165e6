/**
 * Rate limits on real Redis (a private redis-server): two app instances on one Redis share each
 * caller's budget; calls without a valid token are counted by address, with one by principal;
 * probes are never counted; a paused Redis fails open onto local limits and is logged once.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/api.js';
import { pgAvailable } from '../support/pg.js';
import { redisServerAvailable, startRedisServer, type TestRedisServer } from '../support/redis.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const limits = { RATE_LIMIT_WINDOW_SECONDS: '60', RATE_LIMIT_AUTHENTICATED: '6', RATE_LIMIT_ANONYMOUS: '4' };

describe.skipIf(!pgAvailable() || !redisServerAvailable())('rate limits shared through Redis', () => {
  let redis: TestRedisServer;
  let a: TestApp;
  let b: TestApp;
  const logs: { level: number; msg: string; redis?: string }[] = [];
  beforeAll(async () => {
    redis = await startRedisServer(1);
    const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    a = await createTestApp({ REDIS_URL: redis.url, ...limits }, undefined, { log });
    b = await createTestApp({ REDIS_URL: redis.url, ...limits });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  it('shares one principal budget across both instances and answers 429 with Retry-After', async () => {
    const alice = `Bearer ${a.token('admin', 'alice')}`;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push(
        (
          await request(i % 2 ? b.http : a.http)
            .get('/v1/tenants')
            .set('authorization', alice)
        ).status,
      );
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    for (const app of [a, b]) {
      const res = await request(app.http).get('/v1/tenants').set('authorization', alice);
      expect(res.status).toBe(429);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('rate_limited');
      const retry = Number(res.headers['retry-after']);
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(120);
    }
    // Another principal (same address) has a budget of its own.
    expect(
      (
        await request(b.http)
          .get('/v1/tenants')
          .set('authorization', `Bearer ${a.token('admin', 'bob')}`)
      ).status,
    ).toBe(200);
  });

  it('counts calls without a valid token by address, bad tokens included, and never the probes', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) statuses.push((await request(a.http).get('/v1/tenants')).status);
    for (let i = 0; i < 2; i++) statuses.push((await request(b.http).get('/v1/tenants').set('authorization', 'Bearer not-a-token')).status);
    expect(statuses).toEqual([401, 401, 401, 401]);
    const limited = await request(a.http).get('/v1/tenants').set('authorization', 'Bearer still-not-a-token');
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('rate_limited');
    expect((await request(b.http).get('/v1/volumes')).status).toBe(429);
    for (let i = 0; i < 10; i++) {
      expect((await request(a.http).get('/healthz')).status).toBe(200);
      expect((await request(b.http).get('/readyz')).status).toBe(200);
      expect((await request(a.http).get('/metrics')).status).toBe(200);
    }
    // A valid token is still served: principals are not held to the address budget.
    expect(
      (
        await request(a.http)
          .get('/v1/tenants')
          .set('authorization', `Bearer ${a.token('platform', 'carol')}`)
      ).status,
    ).toBe(200);
  });

  it('fails open onto local limits while Redis hangs, logging the outage once and the recovery once', async () => {
    const dave = `Bearer ${a.token('admin', 'dave')}`;
    redis.pause(true);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await request(a.http).get('/v1/tenants').set('authorization', dave)).status);
      // Each instance limits alone: six served, then refused, although Redis counted none of them.
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    } finally {
      redis.pause(false);
    }
    const down = logs.filter((l) => l.redis === 'rate limits' && l.level === 40);
    expect(down).toHaveLength(1);
    // Back on Redis (whose count of dave may include the calls it ran late): shared counts again.
    const erin = `Bearer ${a.token('admin', 'erin')}`;
    let res;
    for (let i = 0; i < 20; i++) {
      res = await request(a.http).get('/v1/tenants').set('authorization', erin);
      if (logs.some((l) => l.redis === 'rate limits' && l.level === 30)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(res!.status).toBe(200);
    expect(logs.filter((l) => l.redis === 'rate limits' && l.level === 30)).toHaveLength(1);
    expect(logs.filter((l) => l.redis === 'rate limits' && l.level === 40)).toHaveLength(1);
  });
});
