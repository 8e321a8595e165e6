import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import client from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestRuns } from '../../../server/jobs/job-run-store.js';
import { KnexJobRunStore } from '../../../server/jobs/knex-job-run-store.js';
import { RedisLease } from '../../../server/jobs/lease.js';
import { Scheduler, type Job } from '../../../server/jobs/scheduler.js';
import { createTestDatabase, pgAvailable, type TestDatabase } from '../../support/pg.js';
import { redisAvailable, redisClient } from '../../support/redis.js';

const available = pgAvailable() && (await redisAvailable());
const log = pino({ level: 'silent' });

describe.skipIf(!available)('Scheduler (real PostgreSQL and Redis)', () => {
  let d: TestDatabase;
  let r1: Redis;
  let r2: Redis;
  beforeAll(async () => {
    d = await createTestDatabase();
    r1 = redisClient(12);
    r2 = redisClient(12);
  });
  afterAll(async () => {
    await r1?.quit();
    await r2?.quit();
    await d?.drop();
  });

  const make = (redis: Redis, jobs: Job[], ttl = 2000) => new Scheduler(new KnexJobRunStore(d.db), log, jobs, (name) => new RedisLease(redis, `${prefix}:${name}`, ttl), new client.Registry(), 100);
  let prefix = '';

  it('two instances: exactly one runs the job, the other records a skip', async () => {
    prefix = randomUUID();
    let runs = 0;
    const job: Job = {
      name: 'enforce',
      cron: '0 0 1 1 *',
      timeoutMs: 5000,
      run: async ({ lease }) => {
        runs++;
        await new Promise((r) => setTimeout(r, 300));
        await lease.assertHeld();
        return { volumes: 3 };
      },
    };
    const [a, b] = [make(r1, [job]), make(r2, [job])];
    const results = await Promise.all([a.trigger('enforce', 'manual'), b.trigger('enforce', 'schedule')]);
    expect(results.map((x) => x.state).sort()).toEqual(['skipped', 'succeeded']);
    expect(runs).toBe(1);
    const rows = await latestRuns(d.db, { job: 'enforce', perJob: 10 });
    expect(rows.map((x) => x.state).sort()).toEqual(['skipped', 'succeeded']);
    expect(rows.find((x) => x.state === 'succeeded')!.counts).toEqual({ volumes: 3 });
    expect(rows.every((x) => x.finishedAt instanceof Date)).toBe(true);
  });

  it('a job never overlaps itself: a second trigger joins the running one', async () => {
    prefix = randomUUID();
    let concurrent = 0;
    let maxConcurrent = 0;
    const job: Job = {
      name: 'walk',
      cron: '0 0 1 1 *',
      timeoutMs: 5000,
      run: async () => {
        maxConcurrent = Math.max(maxConcurrent, ++concurrent);
        await new Promise((r) => setTimeout(r, 200));
        concurrent--;
        return {};
      },
    };
    const s = make(r1, [job]);
    const [x, y] = await Promise.all([s.trigger('walk', 'manual'), s.trigger('walk', 'manual')]);
    expect(x.runId).toBe(y.runId);
    expect(maxConcurrent).toBe(1);
  });

  it('a run past its deadline is aborted and recorded as failed', async () => {
    prefix = randomUUID();
    const job: Job = {
      name: 'slow',
      cron: '0 0 1 1 *',
      timeoutMs: 150,
      run: ({ signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
    };
    const res = await make(r1, [job]).trigger('slow', 'manual');
    expect(res.state).toBe('failed');
    expect(res.error).toMatch(/deadline of 150 ms/);
    const [row] = await latestRuns(d.db, { job: 'slow', perJob: 1 });
    expect(row!.error).toMatch(/deadline/);
  });

  it('losing the lease mid-run aborts the job before it writes again', async () => {
    prefix = randomUUID();
    const writes: number[] = [];
    const job: Job = {
      name: 'fragile',
      cron: '0 0 1 1 *',
      timeoutMs: 5000,
      run: async ({ lease, signal }) => {
        for (let i = 0; i < 20; i++) {
          await new Promise((r) => setTimeout(r, 50));
          signal.throwIfAborted();
          await lease.assertHeld();
          writes.push(i);
          if (i === 2) await r2.del(`headroom:lease:${prefix}:fragile`); // an operator or expiry takes it away
        }
        return {};
      },
    };
    const res = await make(r1, [job], 1000).trigger('fragile', 'manual');
    expect(res.state).toBe('failed');
    expect(res.error).toMatch(/no longer held/);
    expect(writes.length).toBeLessThan(20);
  });
});
