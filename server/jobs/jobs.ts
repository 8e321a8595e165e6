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
 *
 * `counters` and `enforce` share one lease, "enforcement": they write the same states, so
 * only one instance, and one of the two, does so at a time. Their default schedules are offset
 * (minutes 0, 5, 10... and 2, 17, 32, 47) so that sharing never makes one skip the other.
 */
import type { EnforcementService } from '../enforcement/enforcement-service.js';
import type { UsageService } from '../quotas/usage-service.js';
import type { RequestService } from '../requests/request-service.js';
import type { ScanService } from '../scanner/scan-service.js';
import type { StorageReconciler } from '../storage/storage-reconciler.js';
import type { Job } from './scheduler.js';
import { runWalks, type WalkBudget } from './walk-job.js';

/** Schedules and deadlines. */
export interface JobSettings {
  countersCron: string;
  enforceCron: string;
  walkCron: string;
  walkTimeoutMs: number;
  reconcileCron: string;
}

/** The lease a job runs under. */
export function leaseNameOf(job: string): string {
  return job === 'counters' || job === 'enforce' ? 'enforcement' : job;
}

/** Builds the job list. */
export function buildJobs(
  { enforcement, requests, scans, reconciler, usage }: { enforcement: EnforcementService; requests: RequestService; scans: ScanService; reconciler: StorageReconciler; usage: UsageService },
  s: JobSettings,
  budget: WalkBudget,
): Job[] {
  return [
    {
      name: 'counters',
      cron: s.countersCron,
      timeoutMs: 4 * 60_000,
      run: async ({ signal, lease }) => {
        await lease.assertHeld();
        const grantsReverted = await requests.revertDue();
        const counts = await enforcement.countersPass({ signal, lease });
        const { folded } = await usage.downsample(new Date());
        return { ...counts, samplesFolded: folded, grantsReverted };
      },
    },
    {
      name: 'enforce',
      cron: s.enforceCron,
      timeoutMs: 4 * 60_000,
      run: async ({ signal, lease }) => {
        // Temporary grants that ran out go first, so the pass judges the limits now in force.
        await lease.assertHeld();
        const grantsReverted = await requests.revertDue();
        return { ...(await enforcement.enforcePass({ signal, lease })), grantsReverted };
      },
    },
    {
      name: 'reconcile',
      cron: s.reconcileCron,
      timeoutMs: 2 * 60_000,
      run: async ({ lease }) => {
        await lease.assertHeld();
        return reconciler.run();
      },
    },
    {
      name: 'walks',
      cron: s.walkCron,
      timeoutMs: s.walkTimeoutMs,
      run: ({ signal, lease }) => runWalks(scans, budget, { signal, lease }),
    },
  ];
}
