/**
 * The in-memory {@link JobRunStore} of unit tests. Runs started (or finished) within the same
 * millisecond of `now` keep the order they were written in, as sequential statements do in
 * PostgreSQL (whose clock has microseconds). Passes test/contract/job-run-store.contract.ts.
 */
import type { JobHealth, JobRun, JobRunState, JobRunStore } from './job-run-store.js';

interface Row extends JobRun {
  /** Write order of the start and of the end: ties of the clock break by them. */
  startSeq: number;
  finishSeq: number;
}

const strip = ({ startSeq: _s, finishSeq: _f, ...run }: Row): JobRun => ({ ...run, counts: { ...run.counts } });
const newestStart = (a: Row, b: Row) => b.startedAt.getTime() - a.startedAt.getTime() || b.startSeq - a.startSeq;
const newestFinish = (a: Row, b: Row) => b.finishedAt!.getTime() - a.finishedAt!.getTime() || b.finishSeq - a.finishSeq;

/** {@link JobRunStore} in memory. */
export class FakeJobRunStore implements JobRunStore {
  private readonly rows = new Map<string, Row>();
  private seq = 0;
  /** The store's clock (tests may move it). */
  now = () => new Date();

  async insert(r: Pick<JobRun, 'id' | 'job' | 'trigger' | 'instance'>): Promise<void> {
    if (this.rows.has(r.id)) throw new Error(`job run ${r.id} already exists`);
    const row: Row = {
      id: r.id,
      job: r.job,
      trigger: r.trigger,
      instance: r.instance,
      state: 'running',
      counts: {},
      error: null,
      startedAt: this.now(),
      finishedAt: null,
      startSeq: ++this.seq,
      finishSeq: 0,
    };
    this.rows.set(r.id, row);
  }

  async finish(id: string, state: Exclude<JobRunState, 'running'>, counts: Record<string, number>, error: string | null): Promise<void> {
    const r = this.rows.get(id);
    if (r) Object.assign(r, { state, counts: { ...counts }, error, finishedAt: this.now(), finishSeq: ++this.seq });
  }

  async latest(opts: { job?: string; perJob: number; id?: string }): Promise<JobRun[]> {
    const byJob = new Map<string, Row[]>();
    for (const r of this.rows.values()) {
      if ((opts.job && r.job !== opts.job) || (opts.id && r.id !== opts.id)) continue;
      byJob.set(r.job, [...(byJob.get(r.job) ?? []), r]);
    }
    return [...byJob.keys()].sort().flatMap((job) => byJob.get(job)!.sort(newestStart).slice(0, opts.perJob).map(strip));
  }

  async find(job: string, id: string): Promise<JobRun | undefined> {
    const r = this.rows.get(id);
    return r && r.job === job ? strip(r) : undefined;
  }

  async health(): Promise<JobHealth[]> {
    const jobs = [...new Set([...this.rows.values()].map((r) => r.job))].sort();
    return jobs.map((job) => {
      const finished = [...this.rows.values()].filter((r) => r.job === job && (r.state === 'succeeded' || r.state === 'failed')).sort(newestFinish);
      const success = finished.find((r) => r.state === 'succeeded');
      return { job, lastSuccessAt: success?.finishedAt ?? null, lastFailed: finished[0]?.state === 'failed' };
    });
  }

  async failRunning(job: string, error: string, startedBefore?: Date): Promise<number> {
    let n = 0;
    for (const r of this.rows.values()) {
      if (r.job !== job || r.state !== 'running' || (startedBefore && r.startedAt >= startedBefore)) continue;
      Object.assign(r, { state: 'failed', error, finishedAt: this.now(), finishSeq: ++this.seq });
      n++;
    }
    return n;
  }
}
