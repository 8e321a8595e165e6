/**
 * The enforcement passes: page through every active volume, read (or load) its usage, decide in
 * memory, send the volumes whose decision changes something down the locked per-volume path,
 * verify the page's systems against their desired state, and check forecasts.
 *
 * Scale: a page's states, walks and readings are loaded in one query each; counters of the next
 * page are read while this one is decided; only changing volumes take a transaction of their own.
 */
import type { Knex } from 'knex';
import { DependencyUnavailableError } from '../lib/deadline.js';
import type { Logger } from 'pino';
import { LeaseLostError, type Lease } from '../jobs/lease.js';
import type { CounterUsage, VolumeMetadata } from '../meta/volume-metadata.js';
import type { Reading, UsageService } from '../quotas/usage-service.js';
import type { WalkService } from '../walks/walk-service.js';
import type { VolumeService } from '../volumes/volume-service.js';
import type { Volume } from '../volumes/volume.js';
import { needsWrite, policyCurrent, toPolicy, trustReading } from './decisions.js';
import type { EnforcementNotices, ForecastCandidate } from './enforcement-notices.js';
import { initialState, loadStates } from './enforcement-store.js';
import type { LayerStore } from './layer-store.js';
import { decide, limitsOf, type Reading as PolicyReading } from './policy.js';
import type { Verifier, VerifyPass } from './verifier.js';
import { wouldChange, type DryRunReport } from './dry-run.js';
import type { EnforcementOptions } from './enforcement-service.js';

/** Forecasts are computed for volumes at least this full of their soft (else hard) limit (cheap filter for big fleets). */
const FORECAST_MIN_FILL = 0.5;
const PAGE = 1000;
/** Volumes whose changes are written at once (each holds a PostgreSQL connection). */
const APPLY_CONCURRENCY = 8;
/** How often one volume's forecast is checked, and how many are checked per pass. */
const FORECAST_EVERY_MS = 6 * 3_600_000;

/** Counts reported by a pass (recorded with the job run). */
export type PassCounts = Record<
  'volumes' | 'readFailed' | 'transitions' | 'frozen' | 'unfrozen' | 'unknown' | 'limitWrites' | 'errors' | 'notices' | 'verified' | 'drifts' | 'applied' | 'verifyFailed',
  number
>;

/** Context of a pass. */
export interface PassContext {
  now?: Date;
  lease?: Lease;
  signal?: AbortSignal;
  /** A dry run: read and decide only; what the locked path would change is collected here instead. */
  dryRun?: DryRunReport;
}

/** A pass's context while it decides one page. */
interface PageContext extends PassContext {
  counts: PassCounts;
  vp: VerifyPass;
  checkForecasts: boolean;
  /** Volumes whose engine did not answer this pass: their settings are not read again to verify. */
  unreachable?: ReadonlySet<string>;
}

/** The per-volume path a pass hands changing volumes to (the enforcement service). */
export interface LockedDecisions {
  decideLocked(v: Volume, reading: PolicyReading, now: Date, ctx: PassContext, counts: PassCounts): Promise<void>;
  hasStorage(v: Volume): boolean;
}

/** What the passes are built from. */
export interface PassDeps {
  db: Knex;
  layers: LayerStore;
  volumes: Pick<VolumeService, 'listActive'>;
  usage: Pick<UsageService, 'recordReadings' | 'latestReadings'>;
  walks: Pick<WalkService, 'latestWalks'>;
  log: Logger;
  metadata: Pick<VolumeMetadata, 'readUsageMany'>;
  verifier: Verifier;
  notices: EnforcementNotices;
  decisions: LockedDecisions;
  opts: EnforcementOptions;
}

/** The counters and enforce passes. */
export class EnforcementPasses {
  constructor(private readonly o: PassDeps) {}

  /**
   * Reads every active volume's counters, stores them, and enforces on the fresh numbers. Pages
   * are pipelined: the next page's counters are read while this page is recorded and evaluated.
   */
  async countersPass(ctx: PassContext = {}): Promise<PassCounts> {
    const counts = zero();
    const vp: VerifyPass = {};
    let prefetch: Promise<Map<string, CounterUsage | Error>> | undefined;
    await this.eachPage(ctx, async (page, now, nextPage) => {
      const usage = await (prefetch ?? this.o.metadata.readUsageMany(page));
      prefetch = nextPage && this.o.metadata.readUsageMany(nextPage);
      prefetch?.catch(() => undefined); // awaited on the next page; never an unhandled rejection
      const readings: Reading[] = page.map((v) => {
        const u = usage.get(v.id);
        if (!u || u instanceof Error) return { volumeId: v.id, ok: false, error: u?.message ?? 'not read', at: now };
        return { volumeId: v.id, ok: true, bytes: u.usedBytes, inodes: u.usedInodes, at: now };
      });
      counts.readFailed += readings.filter((r) => !r.ok).length;
      await this.evaluatePage(
        page,
        new Map(readings.map((r) => [r.volumeId, toPolicy(r)])),
        now,
        // An engine that just failed to answer the usage read would only time out again.
        { ...ctx, counts, vp, checkForecasts: false, unreachable: new Set(page.filter((v) => usage.get(v.id) instanceof DependencyUnavailableError).map((v) => v.id)) },
        // The page as listed (id order), so the store may record it as one sweep, writing changes only.
        ctx.dryRun ? undefined : this.o.usage.recordReadings(readings, { sweep: true }),
      );
    });
    return counts;
  }

  /** Re-evaluates every active volume on its stored reading (time-driven changes, stale data). */
  async enforcePass(ctx: PassContext = {}): Promise<PassCounts> {
    const counts = zero();
    const vp: VerifyPass = {};
    await this.eachPage(ctx, async (page, now) => {
      const stored = await this.o.usage.latestReadings(page.map((v) => v.id));
      const readings = new Map<string, PolicyReading>();
      for (const v of page) {
        const r = stored.get(v.id);
        if (!r || r.readAt === null) readings.set(v.id, { ok: false, error: 'usage has never been read' });
        else if (r.errorAt && r.errorAt > r.readAt) readings.set(v.id, { ok: false, error: r.error ?? 'read failed' });
        else readings.set(v.id, { ok: true, bytes: r.bytes!, inodes: r.inodes!, readAt: r.readAt });
      }
      await this.evaluatePage(page, readings, now, { ...ctx, counts, vp, checkForecasts: true });
    });
    return counts;
  }

  /**
   * Calls `fn` for each page of active volumes, handing it the next page too (for prefetching).
   * The page after that is listed while `fn` runs, so listing costs no waiting after the start.
   */
  private async eachPage(ctx: PassContext, fn: (page: Volume[], now: Date, next: Volume[] | undefined) => Promise<void>): Promise<void> {
    const list = (after: Volume[]): Promise<Volume[]> => {
      if (after.length < PAGE) return Promise.resolve([]);
      const p = this.o.volumes.listActive({ afterId: after[after.length - 1]!.id, limit: PAGE });
      p.catch(() => undefined); // awaited on the next round; never an unhandled rejection
      return p;
    };
    let page = await this.o.volumes.listActive({ limit: PAGE });
    let listing = list(page);
    while (page.length) {
      ctx.signal?.throwIfAborted();
      const next = await listing;
      listing = list(next);
      await fn(page, ctx.now ?? new Date(), next.length ? next : undefined);
      page = next;
    }
  }

  /**
   * Decides a page, carries out what changed, then verifies the page's systems against their
   * desired state; `recording` (the readings being stored) runs alongside the loads.
   */
  private async evaluatePage(page: Volume[], readings: Map<string, PolicyReading>, now: Date, ctx: PageContext, recording?: Promise<void>): Promise<void> {
    const { counts, checkForecasts } = ctx;
    const ids = page.map((v) => v.id);
    const [states, walks, layers] = await Promise.all([loadStates(this.o.db, ids), this.o.walks.latestWalks(ids), this.o.layers.load(ids, { brief: true }), recording]);
    const toApply: { v: Volume; reading: PolicyReading }[] = [];
    const forecastCandidates: ForecastCandidate[] = [];
    for (const v of page) {
      counts.volumes++;
      const reading = trustReading(readings.get(v.id) ?? { ok: false, error: 'not read' }, walks.get(v.id), this.o.opts.mismatchTolerance);
      const cur = states.get(v.id) ?? initialState(v.id, v.tenantId, now);
      const d = decide(limitsOf(v), reading, policyCurrent(cur), now, this.o.opts);
      if (needsWrite(cur, d, now, this.o.decisions.hasStorage(v))) {
        if (ctx.dryRun) ctx.dryRun.changes.push(wouldChange(v, cur, d, now, this.o.decisions.hasStorage(v)));
        else toApply.push({ v, reading });
      }
      const due = !cur.forecastCheckedAt || now.getTime() - cur.forecastCheckedAt.getTime() >= FORECAST_EVERY_MS;
      // Forecasts are a slow trend: checked by the `enforce` job on stored readings, keeping the
      // five-minute counters pass to reading and deciding.
      const warnAt = v.quota.softBytes ?? v.quota.hardBytes; // early warnings for the soft limit, else the hard one
      if (checkForecasts && due && reading.ok && d.kind === 'evaluated' && d.next !== 'frozen' && warnAt && Number(reading.bytes) >= Number(warnAt) * FORECAST_MIN_FILL) {
        forecastCandidates.push({ v, reading, checkedAt: cur.forecastCheckedAt });
      }
    }
    // Volumes whose decision writes something, a few at a time (each is its own locked transaction).
    let next = 0;
    const worker = async () => {
      while (next < toApply.length) {
        ctx.signal?.throwIfAborted();
        const { v, reading } = toApply[next++]!;
        try {
          await this.o.decisions.decideLocked(v, reading, now, ctx, counts);
        } catch (err) {
          // A lost lease ends the pass: another instance is (or may be) enforcing now.
          if (err instanceof LeaseLostError) throw err;
          counts.errors++;
          this.o.log.error({ err, volumeId: v.id }, 'enforcement of a volume failed; it is retried next pass');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(APPLY_CONCURRENCY, toApply.length) }, worker));
    // Verification repairs and forecast notices write: a dry run stops at its decisions.
    if (ctx.dryRun) return;
    // The decisions above changed some states: verify against what is desired now.
    const [current, currentLayers] = toApply.length ? await Promise.all([loadStates(this.o.db, ids), this.o.layers.load(ids, { brief: true })]) : [states, layers];
    const reachable = ctx.unreachable?.size ? page.filter((v) => !ctx.unreachable!.has(v.id)) : page;
    await this.o.verifier.verifyPage(reachable, current, now, ctx.vp, counts, currentLayers);
    if (forecastCandidates.length) counts.notices += await this.o.notices.forecastAlerts(forecastCandidates, now);
  }
}

/** Empty counts. */
export const zero = (): PassCounts => ({
  volumes: 0,
  readFailed: 0,
  transitions: 0,
  frozen: 0,
  unfrozen: 0,
  unknown: 0,
  limitWrites: 0,
  errors: 0,
  notices: 0,
  verified: 0,
  drifts: 0,
  applied: 0,
  verifyFailed: 0,
});
