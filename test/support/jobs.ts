/**
 * Running a job the way an operator does: `POST /v1/jobs/{name}/runs`, then polling the run it
 * returns until it leaves `running`. Every response goes through the contract-checking client.
 */
import { request } from './api.js';

/** A job run as `GET /v1/jobs/{name}/runs/{runId}` returns it. */
export interface JobRun {
  id: string;
  state: 'running' | 'succeeded' | 'failed';
  counts: Record<string, number>;
  error: string | null;
  [field: string]: unknown;
}

/**
 * Starts job `name` on `app` (an express app, or the base URL of a server) as `authorization`
 * and returns the run once it finished, whatever its outcome; throws if the start is refused or
 * the run is still running after `timeoutMs`.
 */
export async function runJob(app: Parameters<typeof request>[0], name: string, authorization: string, opts: { timeoutMs?: number } = {}): Promise<JobRun> {
  const started = await request(app).post(`/v1/jobs/${name}/runs`).set('authorization', authorization).send({});
  if (started.status !== 202) throw new Error(`job ${name}: ${started.status} ${JSON.stringify(started.body)}`);
  const where = (started.headers.location as string | undefined) ?? `/v1/jobs/${name}/runs/${String(started.body.id)}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const run = (await request(app).get(where).set('authorization', authorization)).body as JobRun;
    if (run.state !== 'running') return run;
    if (Date.now() > deadline) throw new Error(`job ${name} still running after ${opts.timeoutMs ?? 30_000} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** {@link runJob}, and the run must have succeeded (the error names its state and error). */
export async function runJobOk(app: Parameters<typeof request>[0], name: string, authorization: string, opts: { timeoutMs?: number } = {}): Promise<JobRun> {
  const run = await runJob(app, name, authorization, opts);
  if (run.state !== 'succeeded') throw new Error(`job ${name} ended ${run.state}: ${JSON.stringify(run)}`);
  return run;
}
