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

/** Per job: when it last succeeded, and whether its newest finished run failed (for metrics). */
export async function jobHealth(db: Db): Promise<{ job: string; lastSuccessAt: Date | null; lastFailed: boolean }[]> {
  const rows = (await db('job_runs')
    .select('job')
    .max({ last_success: db.raw("CASE WHEN state = 'succeeded' THEN finished_at END") })
    .select(db.raw("(array_agg(state ORDER BY finished_at DESC) FILTER (WHERE state IN ('succeeded', 'failed')))[1] = 'failed' AS last_failed"))
    .groupBy('job')) as { job: string; last_success: Date | null; last_failed: boolean | null }[];
  return rows.map((r) => ({ job: r.job, lastSuccessAt: r.last_success, lastFailed: r.last_failed === true }));
}
