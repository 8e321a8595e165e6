/** HTTP routes for jobs: the last runs of each, trigger one now, and one run's record. */
import express, { type Router } from 'express';
import { requireRole } from '../http/auth-middleware.js';
import { errors } from '../lib/errors.js';
import type { JobRun, JobRunStore } from './job-run-store.js';
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

/** Dry runs by job name: each reports what a run would change and changes nothing. */
export type DryRuns = Record<string, () => Promise<object>>;

/** Router for /v1/jobs (admin only). */
export function jobRoutes(runs: JobRunStore, scheduler: Scheduler, dryRuns: DryRuns = {}): Router {
  const r = express.Router();
  r.get('/v1/jobs', requireRole('admin'), async (req, res) => {
    const perJob = Number(req.query.runs ?? 5);
    const latest = await runs.latest({ perJob });
    res.json({
      items: scheduler.names.map((name) => ({
        name,
        cron: scheduler.job(name)!.cron,
        timeoutSeconds: Math.round(scheduler.job(name)!.timeoutMs / 1000),
        runningHere: scheduler.isRunning(name),
        lastRuns: latest.filter((x) => x.job === name).map(presentRun),
      })),
    });
  });
  r.post('/v1/jobs/:name/runs', requireRole('admin'), async (req, res) => {
    const name = String(req.params.name);
    if (!scheduler.job(name)) throw errors.jobNotFound(name);
    // A dry run is answered at once and leaves no run record: it writes nothing at all.
    if ((req.query as Record<string, unknown>).dryRun === true) {
      const dry = Object.hasOwn(dryRuns, name) ? dryRuns[name] : undefined;
      if (!dry) throw errors.validation(`job "${name}" has no dry run (${Object.keys(dryRuns).join(', ') || 'none'} have)`, [{ path: '/query/dryRun', message: 'not supported for this job' }]);
      res.json(await dry());
      return;
    }
    const { runId } = await scheduler.begin(name, 'manual');
    const run = await runs.find(name, runId);
    res.status(202).location(`/v1/jobs/${name}/runs/${runId}`).json(presentRun(run!));
  });
  r.get('/v1/jobs/:name/runs/:runId', requireRole('admin'), async (req, res) => {
    const run = await runs.find(String(req.params.name), String(req.params.runId));
    if (!run) throw errors.jobRunNotFound(String(req.params.runId));
    res.json(presentRun(run));
  });
  return r;
}
