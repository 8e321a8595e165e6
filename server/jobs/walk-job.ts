/**
 * The nightly walk: every active volume not walked within the minimum interval, a few at a time,
 * each within its own read budget and all together within the total budget, so the walks never
 * crowd out training jobs' metadata traffic on the shared cluster.
 *
 * Resumable by construction: a volume counts as done once it has a walk newer than the
 * interval, so a run cut short (restart, deadline) continues where it stopped next time.
 */
import type { WalkService } from '../walks/walk-service.js';
import type { JobContext } from './scheduler.js';
import { TokenBucket } from './token-bucket.js';

/** Walk budgets. */
export interface WalkBudget {
  concurrency: number;
  keysPerSecond: number;
  totalKeysPerSecond: number;
  minIntervalMs: number;
}

/** Runs one nightly walk pass. */
export async function runWalks(walks: WalkService, budget: WalkBudget, ctx: Pick<JobContext, 'signal' | 'lease'>): Promise<Record<string, number>> {
  const { due, volumes, skipped } = await walks.dueForWalk(new Date(Date.now() - budget.minIntervalMs));
  const counts = { volumes, walked: 0, failed: 0, skipped, keysRead: 0 };
  const total = new TokenBucket(budget.totalKeysPerSecond);
  let next = 0;
  const worker = async () => {
    while (next < due.length) {
      ctx.signal.throwIfAborted();
      const v = due[next++]!;
      await ctx.lease.assertHeld();
      const own = new TokenBucket(budget.keysPerSecond);
      const walk = await walks.walkNow(v, {
        signal: ctx.signal,
        throttle: async (keys) => {
          await own.take(keys, ctx.signal);
          await total.take(keys, ctx.signal);
        },
      });
      if (!walk) counts.skipped++;
      else if (walk.state === 'succeeded') counts.walked++;
      else counts.failed++;
      counts.keysRead += walk?.keysRead ?? 0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(budget.concurrency, Math.max(1, due.length)) }, worker));
  return counts;
}
