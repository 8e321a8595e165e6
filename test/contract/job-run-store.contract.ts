/**
 * The contract every {@link JobRunStore} keeps, run against the PostgreSQL store
 * (test/e2e/knex-feature-stores.e2e.test.ts) and the in-memory fake
 * (test/unit/jobs/fake-job-run-store.test.ts). Tests share a store: each runs jobs of its own names.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { JobRunStore } from '../../server/jobs/job-run-store.js';

const rand = () => Math.random().toString(36).slice(2, 12);

/** Registers the contract suite for one implementation. */
export function jobRunStoreContract(name: string, make: () => Promise<JobRunStore>): void {
  describe(`JobRunStore contract: ${name}`, () => {
    let store: JobRunStore;
    let job: string;
    let n = 0;
    const start = async (j = job, trigger: 'schedule' | 'manual' = 'schedule') => {
      const id = `run_${j}_${String(++n).padStart(4, '0')}`;
      await store.insert({ id, job: j, trigger, instance: 'host-1' });
      return id;
    };
    beforeEach(async () => {
      store = await make();
      job = `job${rand()}`;
    });

    it('records a run from its start to its end, and finds it under its job only', async () => {
      const id = await start(job, 'manual');
      const running = await store.find(job, id);
      expect(running).toMatchObject({ id, job, trigger: 'manual', instance: 'host-1', state: 'running', counts: {}, error: null, finishedAt: null });
      expect(running!.startedAt).toBeInstanceOf(Date);
      await store.finish(id, 'failed', { volumes: 3, skipped: 0 }, 'boom');
      const done = await store.find(job, id);
      expect(done).toMatchObject({ state: 'failed', counts: { volumes: 3, skipped: 0 }, error: 'boom', startedAt: running!.startedAt });
      expect(done!.finishedAt!.getTime()).toBeGreaterThanOrEqual(running!.startedAt.getTime());
      expect(await store.find(`${job}x`, id)).toBeUndefined();
      expect(await store.find(job, `${id}x`)).toBeUndefined();
    });

    it('gives the latest runs per job, newest first, by job; or those of one job; or one run', async () => {
      const other = `${job}b`;
      const a1 = await start();
      const b1 = await start(other);
      const a2 = await start();
      const a3 = await start();
      const mine = async (o: { job?: string; perJob: number; id?: string }) => (await store.latest(o)).filter((r) => r.job === job || r.job === other).map((r) => r.id);
      expect(await mine({ perJob: 2 })).toEqual([a3, a2, b1]);
      expect(await mine({ job, perJob: 10 })).toEqual([a3, a2, a1]);
      expect(await mine({ job, perJob: 1 })).toEqual([a3]);
      expect(await mine({ job, perJob: 10, id: a1 })).toEqual([a1]);
      expect(await mine({ job: other, perJob: 10, id: a1 })).toEqual([]);
    });

    it("reports each job's last success and whether its newest finished run failed, skips and running runs aside", async () => {
      const [ok, flaky, idle] = [`${job}a`, `${job}b`, `${job}c`];
      const s1 = await start(ok);
      await store.finish(s1, 'succeeded', {}, null);
      await store.finish(await start(ok), 'skipped', {}, 'another instance holds the lease');
      await start(ok); // still running
      await store.finish(await start(flaky), 'succeeded', {}, null);
      await store.finish(await start(flaky), 'failed', {}, 'boom');
      await start(idle);
      const health = new Map((await store.health()).map((h) => [h.job, h]));
      const success = (await store.find(ok, s1))!.finishedAt;
      expect(health.get(ok)).toEqual({ job: ok, lastSuccessAt: success, lastFailed: false });
      expect(health.get(flaky)).toMatchObject({ job: flaky, lastFailed: true });
      expect(health.get(flaky)!.lastSuccessAt).toBeInstanceOf(Date);
      expect(health.get(idle)).toEqual({ job: idle, lastSuccessAt: null, lastFailed: false });
      expect(health.has(`${job}none`)).toBe(false);
    });

    it("closes a job's runs left running as failed, and only those started before the cut", async () => {
      const a = await start();
      const b = await start();
      const done = await start();
      await store.finish(done, 'succeeded', { n: 1 }, null);
      const elsewhere = await start(`${job}b`);
      // A cut a minute back catches none of them; a cut a minute ahead catches both.
      expect(await store.failRunning(job, 'interrupted', new Date(Date.now() - 60_000))).toBe(0);
      expect(await store.failRunning(job, 'interrupted', new Date(Date.now() + 60_000))).toBe(2);
      for (const id of [a, b]) expect(await store.find(job, id)).toMatchObject({ state: 'failed', error: 'interrupted', finishedAt: expect.any(Date) });
      expect(await store.find(job, done)).toMatchObject({ state: 'succeeded', counts: { n: 1 }, error: null });
      expect((await store.find(`${job}b`, elsewhere))!.state).toBe('running');
      expect(await store.failRunning(`${job}b`, 'interrupted')).toBe(1);
      expect(await store.failRunning(`${job}b`, 'interrupted')).toBe(0);
    });
  });
}
