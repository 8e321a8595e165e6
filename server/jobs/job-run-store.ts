/**
 * The store of job runs (`job_runs`): one row per scheduled or manual run. `KnexJobRunStore`
 * implements it over PostgreSQL and `FakeJobRunStore` in memory; both pass
 * test/contract/job-run-store.contract.ts. Runs are written outside any use case's transaction
 * (a run's record must survive the run's failure) and carry no audit row, so the store has no
 * unit of work: each call is one statement.
 */
import type { Db } from '../db/database.js';
import { KnexJobRunStore } from './knex-job-run-store.js';

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

/** Per job, what the health gauges report. */
export interface JobHealth {
  job: string;
  /** When a run of it last finished successfully. */
  lastSuccessAt: Date | null;
  /** Whether its newest finished (succeeded or failed) run failed; skipped runs do not count. */
  lastFailed: boolean;
}

/** Job runs. */
export interface JobRunStore {
  /** Records the start of a run (state `running`, started now). */
  insert(r: Pick<JobRun, 'id' | 'job' | 'trigger' | 'instance'>): Promise<void>;
  /** Records how a run ended (finished now). */
  finish(id: string, state: Exclude<JobRunState, 'running'>, counts: Record<string, number>, error: string | null): Promise<void>;
  /** The latest `perJob` runs of each job (or of one job, or the one run `id`), by job then newest first. */
  latest(opts: { job?: string; perJob: number; id?: string }): Promise<JobRun[]>;
  /** One run of a job. */
  find(job: string, id: string): Promise<JobRun | undefined>;
  /** Per job that has runs: its last success and whether its newest finished run failed. */
  health(): Promise<JobHealth[]>;
  /**
   * Closes the job's runs still `running` (started before `startedBefore`, when given) as failed
   * with `error`: runs a process that died left behind. Returns how many it closed.
   */
  failRunning(job: string, error: string, startedBefore?: Date): Promise<number>;
}

/** The latest runs of each job (or of one job), newest first (the knex store's {@link JobRunStore.latest}). */
export function latestRuns(db: Db, opts: { job?: string; perJob: number; id?: string }): Promise<JobRun[]> {
  return new KnexJobRunStore(db).latest(opts);
}
