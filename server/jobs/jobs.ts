/**
 * Headroom's scheduled jobs. Each is a thin call into a service; the scheduler gives it a
 * deadline, a lease and a run record.
 *
 * - `counters`: revert temporary grants whose time is up, read every volume's usage counters
 *   (cheap, two keys each), record samples, enforce on the fresh numbers, fold old samples.
 * - `enforce`: revert temporary grants whose time is up, then re-evaluate every volume on its
 *   stored reading, for changes driven by time (grace and manual freezes expiring) and to mark
 *   volumes whose readings went stale.
 * - `reconcile`: finish or undo onboardings a crash interrupted, re-apply storage freeze rules,
 *   compare storage and metadata usage.
 * - `walks`: the nightly per-directory walk, within its read budget.
 * - `digest`: the weekly per-tenant digest (DIGEST_CRON), one notice per tenant per ISO week.
 *
 * `counters` and `enforce` share one lease, "enforcement": they write the same states, so
 * only one instance, and one of the two, does so at a time. Their default schedules are offset
 * (minutes 0, 5, 10... and 2, 17, 32, 47) so that sharing never makes one skip the other.
 */
import type { EnforcementService } from '../enforcement/enforcement-service.js';
import type { UsageService } from '../quotas/usage-service.js';
import type { RequestService } from '../requests/request-service.js';
import type { WalkService } from '../walks/walk-service.js';
import type { StorageReconciler } from '../storage/storage-reconciler.js';
import type { Job } from './scheduler.js';

/** Directory quotas' share of the passes (server/directory-quotas), when that feature is wired. */
export interface DirectoryQuotaJobs {
  /** Reads every directory quota's usage, decides, commits, applies, verifies. */
  pass(): Promise<{ evaluated: number; changed: number; unknown: number; drifts: number }>;
  /** Retries JuiceFS quota-record writes that failed after their commit. */
  reconcile(): Promise<{ tried: number; failed: number }>;
  /** Folds old directory quota samples into hourly and daily maxima, by the volumes' policy. */
  downsample(now: Date): Promise<{ folded: number; pruned: number }>;
}
import { runWalks, type WalkBudget } from './walk-job.js';

/** Schedules and deadlines. */
export interface JobSettings {
  countersCron: string;
  enforceCron: string;
  walkCron: string;
  walkTimeoutMs: number;
  reconcileCron: string;
  /** The weekly per-tenant digest (server/notifications/digest.ts). */
  digestCron?: string;
}

/** The lease a job runs under. */
export function leaseNameOf(job: string): string {
  return job === 'counters' || job === 'enforce' ? 'enforcement' : job;
}

/** The services the jobs call into. */
export interface JobServices {
  enforcement: EnforcementService;
  requests: RequestService;
  walks: WalkService;
  reconciler: StorageReconciler;
  usage: UsageService;
  directoryQuotas?: DirectoryQuotaJobs;
  digest?: { run(now?: Date, signal?: AbortSignal): Promise<{ tenants: number; sent: number }> };
}

/** Builds the job list. */
export function buildJobs(services: JobServices, s: JobSettings, budget: WalkBudget): Job[] {
  return [
    countersJob(services, s.countersCron),
    enforceJob(services, s.enforceCron),
    reconcileJob(services, s.reconcileCron),
    { name: 'walks', cron: s.walkCron, timeoutMs: s.walkTimeoutMs, run: ({ signal, lease }) => runWalks(services.walks, budget, { signal, lease }) },
    ...(services.digest && s.digestCron ? [digestJob(services.digest, s.digestCron)] : []),
  ];
}

function countersJob({ requests, enforcement, usage, directoryQuotas }: JobServices, cron: string): Job {
  return {
    name: 'counters',
    cron,
    timeoutMs: 4 * 60_000,
    run: async ({ signal, lease }) => {
      await lease.assertHeld();
      const grantsReverted = await requests.revertDue();
      const counts = await enforcement.countersPass({ signal, lease });
      // Directory quotas are read in the same cheap way (batched quota records), so they share the pass.
      await lease.assertHeld();
      const dq = directoryQuotas ? await directoryQuotas.pass() : undefined;
      const now = new Date();
      const { folded } = await usage.downsample(now);
      // Directory quotas' samples are folded where volumes' are, on the same clock.
      const dqFolded = directoryQuotas ? (await directoryQuotas.downsample(now)).folded : 0;
      return { ...counts, samplesFolded: folded, grantsReverted, ...(dq && prefixed('directoryQuotas', { ...dq, samplesFolded: dqFolded })) };
    },
  };
}

function enforceJob({ requests, enforcement }: JobServices, cron: string): Job {
  return {
    name: 'enforce',
    cron,
    timeoutMs: 4 * 60_000,
    run: async ({ signal, lease }) => {
      // Temporary grants that ran out go first, so the pass judges the limits now in force.
      await lease.assertHeld();
      const grantsReverted = await requests.revertDue();
      return { ...(await enforcement.enforcePass({ signal, lease })), grantsReverted };
    },
  };
}

function reconcileJob({ reconciler, directoryQuotas }: JobServices, cron: string): Job {
  return {
    name: 'reconcile',
    cron,
    timeoutMs: 2 * 60_000,
    run: async ({ lease }) => {
      await lease.assertHeld();
      const counts = await reconciler.run();
      const dq = directoryQuotas ? await directoryQuotas.reconcile() : undefined;
      return { ...counts, ...(dq && prefixed('directoryQuotaWrites', dq)) };
    },
  };
}

/** One digest per tenant and ISO week (idempotent by week, so a re-run sends nothing twice). */
function digestJob(digest: NonNullable<JobServices['digest']>, cron: string): Job {
  return {
    name: 'digest',
    cron,
    timeoutMs: 10 * 60_000,
    run: async ({ signal, lease }) => {
      await lease.assertHeld();
      return digest.run(new Date(), signal);
    },
  };
}

/** `{a: 1}` → `{"prefix.a": 1}`, so two parts of one run keep their counts apart. */
function prefixed(prefix: string, counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [`${prefix}.${k}`, v]));
}
