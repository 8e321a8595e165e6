/** The PostgreSQL {@link JobRunStore} over the `job_runs` table. Row mapping stays private to this file. */
import type { Db } from '../db/database.js';
import type { JobHealth, JobRun, JobRunState, JobRunStore } from './job-run-store.js';

const fromRow = (r: Record<string, unknown>): JobRun => ({
  id: r.id as string,
  job: r.job as string,
  trigger: r.trigger as JobRun['trigger'],
  instance: r.instance as string,
  state: r.state as JobRunState,
  counts: r.counts as Record<string, number>,
  error: (r.error as string | null) ?? null,
  startedAt: r.started_at as Date,
  finishedAt: (r.finished_at as Date | null) ?? null,
});

/** {@link JobRunStore} over PostgreSQL; timestamps are the server's `now()`. */
export class KnexJobRunStore implements JobRunStore {
  constructor(private readonly db: Db) {}

  async insert(r: Pick<JobRun, 'id' | 'job' | 'trigger' | 'instance'>): Promise<void> {
    await this.db('job_runs').insert({ id: r.id, job: r.job, trigger: r.trigger, instance: r.instance, state: 'running' });
  }

  async finish(id: string, state: Exclude<JobRunState, 'running'>, counts: Record<string, number>, error: string | null): Promise<void> {
    await this.db('job_runs')
      .where({ id })
      .update({ state, counts: JSON.stringify(counts), error, finished_at: this.db.fn.now() });
  }

  async latest(opts: { job?: string; perJob: number; id?: string }): Promise<JobRun[]> {
    const db = this.db;
    const rows = (await db
      .select('*')
      .from(
        db('job_runs')
          .select('*', db.raw('row_number() OVER (PARTITION BY job ORDER BY started_at DESC) AS rn'))
          .modify((q) => {
            if (opts.job) q.where('job', opts.job);
            if (opts.id) q.where('id', opts.id);
          })
          .as('r'),
      )
      .where('rn', '<=', opts.perJob)
      .orderBy([{ column: 'job' }, { column: 'started_at', order: 'desc' }])) as Record<string, unknown>[];
    return rows.map(fromRow);
  }

  async find(job: string, id: string): Promise<JobRun | undefined> {
    const r = (await this.db('job_runs').where({ job, id }).first()) as Record<string, unknown> | undefined;
    return r && fromRow(r);
  }

  async health(): Promise<JobHealth[]> {
    const db = this.db;
    const rows = (await db('job_runs')
      .select('job')
      .max({ last_success: db.raw("CASE WHEN state = 'succeeded' THEN finished_at END") })
      .select(db.raw("(array_agg(state ORDER BY finished_at DESC) FILTER (WHERE state IN ('succeeded', 'failed')))[1] = 'failed' AS last_failed"))
      .groupBy('job')
      .orderBy('job')) as { job: string; last_success: Date | null; last_failed: boolean | null }[];
    return rows.map((r) => ({ job: r.job, lastSuccessAt: r.last_success, lastFailed: r.last_failed === true }));
  }

  async failRunning(job: string, error: string, startedBefore?: Date): Promise<number> {
    const q = this.db('job_runs').where({ job, state: 'running' });
    if (startedBefore) q.where('started_at', '<', startedBefore);
    return q.update({ state: 'failed', error, finished_at: this.db.fn.now() });
  }
}
