/** HTTP routes for jobs: the last runs of each, trigger one now, and one run's record. */
import express, { type Router } from 'express';
import type { Knex } from 'knex';
import { requireRole } from '../http/auth-middleware.js';
import { errors } from '../lib/errors.js';
import { latestRuns, type JobRun } from './job-run-store.js';
import type { Scheduler } from './scheduler.js';

const presentRun = (r: JobRun) => ({
  id: r.id,
  job: r.job,
  trigger: r.trigger,
  instance: r.instance,
  state: r.state,
  counts: r.counts,
  error: r.error,
  startedAt: r.startedAt.toISOString(),
  finishedAt: r.finishedAt?.toISOString() ?? null,
});

/** Router for /v1/jobs (admin only). */
export function jobRoutes(db: Knex, scheduler: Scheduler): Router {
  const r = express.Router();
  r.get('/v1/jobs', requireRole('admin'), async (req, res) => {
    const perJob = Number(req.query.runs ?? 5);
    const runs = await latestRuns(db, { perJob });
    res.json({
      items: scheduler.names.map((name) => ({
        name,
        cron: scheduler.job(name)!.cron,
        timeoutSeconds: Math.round(scheduler.job(name)!.timeoutMs / 1000),
        runningHere: scheduler.isRunning(name),
        lastRuns: runs.filter((x) => x.job === name).map(presentRun),
      })),
    });
  });
  r.post('/v1/jobs/:name/runs', requireRole('admin'), async (req, res) => {
    const name = String(req.params.name);
    if (!scheduler.job(name)) throw errors.jobNotFound(name);
    const { runId } = await scheduler.begin(name, 'manual');
    const run = await findRun(db, name, runId);
    res.status(202).location(`/v1/jobs/${name}/runs/${runId}`).json(presentRun(run!));
  });
  r.get('/v1/jobs/:name/runs/:runId', requireRole('admin'), async (req, res) => {
    const run = await findRun(db, String(req.params.name), String(req.params.runId));
    if (!run) throw errors.jobRunNotFound(String(req.params.runId));
    res.json(presentRun(run));
  });
  return r;
}

async function findRun(db: Knex, job: string, id: string): Promise<JobRun | undefined> {
  const runs = await latestRuns(db, { job, perJob: 1_000_000, id });
  return runs[0];
}
