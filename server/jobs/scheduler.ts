/**
 * Runs named jobs on cron schedules and on demand. Each job: never overlaps itself, runs only
 * while this instance holds the job's lease, has a deadline (an AbortSignal), and records every
 * run in `job_runs` with its counts or error, plus Prometheus metrics.
 */
import { randomUUID } from 'node:crypto';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import client from 'prom-client';
import { ulid } from 'ulid';
import type { JobRunStore } from './job-run-store.js';
import { LeaseLostError, LeaseStoreUnavailableError, type Lease } from './lease.js';

/** What a job gets while it runs. */
export interface JobContext {
  signal: AbortSignal;
  lease: Lease;
  log: Logger;
}

/** A job: a name, a schedule, a deadline, and a function that calls a service. */
export interface Job {
  name: string;
  cron: string;
  timeoutMs: number;
  run(ctx: JobContext): Promise<Record<string, number>>;
}

/** Outcome of one trigger. */
export type TriggerResult = { runId: string; state: 'succeeded' | 'failed' | 'skipped'; counts: Record<string, number>; error: string | null };

/** The scheduler of one process. */
export class Scheduler {
  readonly instance = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly tasks: ScheduledTask[] = [];
  private readonly active = new Map<string, { controller: AbortController; done: Promise<TriggerResult>; runId: Promise<string> }>();
  private readonly duration: client.Histogram<'job' | 'state'>;

  constructor(
    private readonly runs: JobRunStore,
    private readonly log: Logger,
    private readonly jobs: Job[],
    private readonly leaseFor: (job: string) => Lease,
    registry: client.Registry,
    /** How often a running job renews its lease; keep it well under the lease TTL. */
    private readonly renewEveryMs = 1000,
  ) {
    this.duration = new client.Histogram({
      name: 'headroom_job_duration_seconds',
      help: 'Job run duration by outcome',
      labelNames: ['job', 'state'],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: [registry],
    });
  }

  /** The jobs this scheduler knows. */
  get names(): string[] {
    return this.jobs.map((j) => j.name);
  }

  /** A job's definition. */
  job(name: string): Job | undefined {
    return this.jobs.find((j) => j.name === name);
  }

  /** Starts the cron schedules. */
  start(): void {
    for (const job of this.jobs) {
      this.tasks.push(cron.schedule(job.cron, () => void this.trigger(job.name, 'schedule').catch((err) => this.log.error({ err, job: job.name }, 'job trigger failed'))));
    }
  }

  /**
   * Runs a job now unless it is already running here or another instance holds its lease
   * (then the run is recorded as `skipped`). Resolves when the run ends.
   */
  async trigger(name: string, trigger: 'schedule' | 'manual'): Promise<TriggerResult> {
    return (await this.begin(name, trigger)).done;
  }

  /**
   * Starts a run and resolves once it is recorded, with its id and a promise of its end; joins
   * the run in progress instead when the job is already running here.
   */
  async begin(name: string, trigger: 'schedule' | 'manual'): Promise<{ runId: string; joined: boolean; done: Promise<TriggerResult> }> {
    const job = this.jobs.find((j) => j.name === name);
    if (!job) throw new Error(`unknown job "${name}"`);
    const running = this.active.get(name);
    if (running) return { runId: await running.runId, joined: true, done: running.done }; // never overlap
    const controller = new AbortController();
    const runId = `run_${ulid().toLowerCase()}`;
    const recorded = this.runs.insert({ id: runId, job: job.name, trigger, instance: this.instance }).then(() => runId);
    const done = recorded.then(() => this.execute(job, runId, controller)).finally(() => this.active.delete(name));
    this.active.set(name, { controller, done, runId: recorded });
    await recorded;
    return { runId, joined: false, done };
  }

  /** Whether a job is running in this process. */
  isRunning(name: string): boolean {
    return this.active.has(name);
  }

  /**
   * At boot: runs left `running` by a process that died are closed as failed. Without a shared
   * lease every such run is orphaned; with one, only runs older than their job's deadline are
   * (a younger one may belong to a live instance).
   */
  async recover(shared: boolean): Promise<number> {
    let n = 0;
    for (const job of this.jobs) {
      n += await this.runs.failRunning(job.name, 'interrupted: the process running it stopped', shared ? new Date(Date.now() - job.timeoutMs - 60_000) : undefined);
    }
    return n;
  }

  private async execute(job: Job, runId: string, controller: AbortController): Promise<TriggerResult> {
    const lease = this.leaseFor(job.name);
    const end = this.duration.startTimer({ job: job.name });
    const acquired = await lease.acquire().catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    if (acquired instanceof Error) {
      // Nobody can tell who holds the lease: the job does not run, and says why (an admin must
      // not read this as "another instance is doing it"). The store's outage is logged once elsewhere.
      const error = acquired instanceof LeaseStoreUnavailableError ? acquired.message : `the lease could not be taken: ${acquired.message}`;
      // A hung Redis may still run the timed-out SET later and leave a lease nobody holds for a
      // whole TTL; a release queued behind it on the same connection undoes that in order.
      void lease.release().catch(() => {});
      await this.runs.finish(runId, 'failed', {}, error);
      end({ state: 'failed' });
      return { runId, state: 'failed', counts: {}, error };
    }
    if (!acquired) {
      await this.runs.finish(runId, 'skipped', {}, 'another instance holds the lease');
      end({ state: 'skipped' });
      return { runId, state: 'skipped', counts: {}, error: 'another instance holds the lease' };
    }
    const timer = setTimeout(() => controller.abort(new Error(`deadline of ${job.timeoutMs} ms exceeded`)), job.timeoutMs);
    // Renew well inside the TTL; a failed renewal aborts the run before anyone else can start.
    const renew = setInterval(() => {
      void lease.renew().then(
        (ok) => ok || controller.abort(new LeaseLostError(job.name)),
        (err: unknown) => controller.abort(err instanceof LeaseStoreUnavailableError ? err : new LeaseLostError(job.name)),
      );
    }, this.renewEveryMs);
    try {
      const counts = await job.run({ signal: controller.signal, lease, log: this.log.child({ job: job.name, runId }) });
      await this.runs.finish(runId, 'succeeded', counts, null);
      end({ state: 'succeeded' });
      return { runId, state: 'succeeded', counts, error: null };
    } catch (err) {
      const message = (err as Error).message;
      this.log.warn({ err, job: job.name, runId }, 'job failed');
      await this.runs.finish(runId, 'failed', {}, message);
      end({ state: 'failed' });
      return { runId, state: 'failed', counts: {}, error: message };
    } finally {
      clearTimeout(timer);
      clearInterval(renew);
      await lease.release().catch(() => {});
    }
  }

  /** Stops schedules, aborts running jobs and waits for them to record their end. */
  async stop(): Promise<void> {
    for (const t of this.tasks) await t.stop();
    for (const a of this.active.values()) a.controller.abort(new Error('shutting down'));
    await Promise.allSettled([...this.active.values()].map((a) => a.done));
  }
}
