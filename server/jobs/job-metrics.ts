/**
 * Job health as Prometheus gauges, read from `job_runs` at scrape time. Every replica reports
 * the same fleet-wide figures (the runs are shared), so alerts take `max` across instances:
 * a replica that never holds the lease still tells whether the leader's passes succeed.
 */
import client from 'prom-client';
import type { JobRunStore } from './job-run-store.js';

/** Registers `headroom_job_last_success_timestamp_seconds` and `headroom_job_last_run_failed`. */
export function registerJobMetrics(runs: JobRunStore, registry: client.Registry, jobNames: readonly string[]): void {
  // A small grouped query per gauge and scrape; a database outage reads as "no runs".
  const read = () => runs.health().catch(() => []);
  new client.Gauge({
    name: 'headroom_job_last_success_timestamp_seconds',
    help: 'When each job last finished successfully (Unix seconds; 0 = never)',
    labelNames: ['job'],
    registers: [registry],
    async collect() {
      const rows = new Map((await read()).map((r) => [r.job, r]));
      for (const job of jobNames) this.set({ job }, (rows.get(job)?.lastSuccessAt?.getTime() ?? 0) / 1000);
    },
  });
  new client.Gauge({
    name: 'headroom_job_last_run_failed',
    help: '1 when the newest finished run of the job failed',
    labelNames: ['job'],
    registers: [registry],
    async collect() {
      const rows = new Map((await read()).map((r) => [r.job, r]));
      for (const job of jobNames) this.set({ job }, rows.get(job)?.lastFailed ? 1 : 0);
    },
  });
}
