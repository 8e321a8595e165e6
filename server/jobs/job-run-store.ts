/** PostgreSQL store for job runs. */
import type { Db } from '../db/database.js';

/** How a run ended (or that it is still going). */
export type JobRunState = 'running' | 'succeeded' | 'failed' | 'skipped';

/** One run of a job. */
export interface JobRun {
  id: string;
  job: string;
  trigger: 'schedule' | 'manual';
  instance: string;
  state: JobRunState;
  counts: Record<string, number>;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

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

/** Records the start of a run. */
export async function insertRun(db: Db, r: Pick<JobRun, 'id' | 'job' | 'trigger' | 'instance'>): Promise<void> {
  await db('job_runs').insert({ id: r.id, job: r.job, trigger: r.trigger, instance: r.instance, state: 'running' });
}

/** Records how a run ended. */
export async function finishRun(db: Db, id: string, state: Exclude<JobRunState, 'running'>, counts: Record<string, number>, error: string | null): Promise<void> {
  await db('job_runs')
    .where({ id })
    .update({ state, counts: JSON.stringify(counts), error, finished_at: db.fn.now() });
}

/** The latest runs of each job (or of one job), newest first. */
export async function latestRuns(db: Db, opts: { job?: string; perJob: number; id?: string }): Promise<JobRun[]> {
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
