/**
 * The enforcement passes: page through every active volume, read (or load) its usage, decide in
 * memory, send the volumes whose decision changes something down the locked per-volume path,
 * verify the page's systems against their desired state, and check forecasts.
 *
 * Scale: a page's states, walks and readings are loaded in one query each (states and layer rows
 * against the versions kept from the last pass: only changed rows are sent, see pass-rows.ts);
 * counters of the next page are read while this one is decided, and its readings stored while the
 * next one is; only changing volumes take a transaction of their own.
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
import { initialState, type EnforcementStore } from './enforcement-store.js';
import { PassRows, type PageRows } from './pass-rows.js';
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
  /** The pass's number for the rows kept between passes. */
  pass: number;
  /** Volumes whose engine did not answer this pass: their settings are not read again to verify. */
  unreachable?: ReadonlySet<string>;
}

/** What a page is decided on besides its readings. */
type PageLoad = PageRows & { walks: Awaited<ReturnType<PassDeps['walks']['latestWalks']>> };

/** The per-volume path a pass hands changing volumes to (the enforcement service). */
export interface LockedDecisions {
  decideLocked(v: Volume, reading: PolicyReading, now: Date, ctx: PassContext, counts: PassCounts): Promise<void>;
  hasStorage(v: Volume): boolean;
}

/** What the passes are built from. */
export interface PassDeps {
  db: Knex;
  states: EnforcementStore;
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
  /** State and layer rows kept between passes, each page re-read against their versions. */
  private readonly rows: PassRows;

  constructor(private readonly o: PassDeps) {
    this.rows = new PassRows(o.states, o.layers);
  }

  /**
   * Reads every active volume's counters, stores them, and enforces on the fresh numbers. Pages
   * are pipelined: the next page's counters are read while this page is loaded and evaluated, and
   * a page's readings are stored while it is evaluated and the next page is loaded (at most two
   * pages' at a time; all before the pass returns).
   */
  async countersPass(ctx: PassContext = {}): Promise<PassCounts> {
    const counts = zero();
    const vp: VerifyPass = {};
    let prefetch: Promise<Map<string, CounterUsage | Error>> | undefined;
    let recorded: Promise<void> | undefined;
    await this.eachPage(ctx, async (page, now, nextPage, pass) => {
      const usage = await (prefetch ?? this.o.metadata.readUsageMany(page));
      const readings: Reading[] = page.map((v) => {
        const u = usage.get(v.id);
        if (!u || u instanceof Error) return { volumeId: v.id, ok: false, error: u?.message ?? 'not read', at: now };
        return { volumeId: v.id, ok: true, bytes: u.usedBytes, inodes: u.usedInodes, at: now };
      });
      counts.readFailed += readings.filter((r) => !r.ok).length;
      // The page as listed (id order), so the store may record it as one sweep, writing changes only.
      const previous = recorded;
      const recording = (recorded = ctx.dryRun ? undefined : quiet(this.o.usage.recordReadings(readings, { sweep: true })));
      const loading = quiet(this.loadPage(page, pass));
      // A synchronous engine (local SQLite) reads the next page on this thread: first let the
      // statements above reach PostgreSQL, so that it works on them meanwhile.
      await new Promise((resolve) => setImmediate(resolve));
      prefetch = nextPage && quiet(this.o.metadata.readUsageMany(nextPage));
      // An engine that just failed to answer the usage read would only time out again.
      const unreachable = new Set(page.filter((v) => usage.get(v.id) instanceof DependencyUnavailableError).map((v) => v.id));
      const policyReadings = new Map(readings.map((r) => [r.volumeId, toPolicy(r)]));
      await previous;
      await this.evaluatePage(page, policyReadings, now, { ...ctx, counts, vp, pass, checkForecasts: false, unreachable }, loading, recording);
    });
    await recorded;
    return counts;
  }

  /** Re-evaluates every active volume on its stored reading (time-driven changes, stale data). */
  async enforcePass(ctx: PassContext = {}): Promise<PassCounts> {
    const counts = zero();
    const vp: VerifyPass = {};
    await this.eachPage(ctx, async (page, now, _next, pass) => {
      const loading = quiet(this.loadPage(page, pass));
      const stored = await this.o.usage.latestReadings(page.map((v) => v.id));
      const readings = new Map<string, PolicyReading>();
      for (const v of page) {
        const r = stored.get(v.id);
        if (!r || r.readAt === null) readings.set(v.id, { ok: false, error: 'usage has never been read' });
        else if (r.errorAt && r.errorAt > r.readAt) readings.set(v.id, { ok: false, error: r.error ?? 'read failed' });
        else readings.set(v.id, { ok: true, bytes: r.bytes!, inodes: r.inodes!, readAt: r.readAt });
      }
      await this.evaluatePage(page, readings, now, { ...ctx, counts, vp, pass, checkForecasts: true }, loading);
    });
    return counts;
  }

  /**
   * Calls `fn` for each page of active volumes, handing it the next page too (for prefetching).
   * The page after that is listed while `fn` runs, so listing costs no waiting after the start.
   * `pass` numbers the pass for the rows kept between passes.
   */
  private async eachPage(ctx: PassContext, fn: (page: Volume[], now: Date, next: Volume[] | undefined, pass: number) => Promise<void>): Promise<void> {
    const pass = this.rows.startPass();
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
      await fn(page, ctx.now ?? new Date(), next.length ? next : undefined, pass);
      page = next;
    }
    this.rows.endPass(pass);
  }

  /** A page's states, walks and layer rows, one statement each, all at once. */
  private async loadPage(page: readonly Volume[], pass: number): Promise<PageLoad> {
    const ids = page.map((v) => v.id);
    const [rows, walks] = await Promise.all([this.rows.load(ids, pass), this.o.walks.latestWalks(ids)]);
    return { ...rows, walks };
  }

  /**
   * Decides a page, carries out what changed, then verifies the page's systems against their
   * desired state. `loading` (its rows) and `recording` (its readings being stored) were started
   * by the caller before it read the next page's counters; only volumes taking the locked path
   * wait for their readings to be stored.
   */
  private async evaluatePage(page: Volume[], readings: Map<string, PolicyReading>, now: Date, ctx: PageContext, loading: Promise<PageLoad>, recording?: Promise<void>): Promise<void> {
    const { counts, checkForecasts } = ctx;
    const ids = page.map((v) => v.id);
    const { states, walks, layers } = await loading;
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
    if (toApply.length) await recording;
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
    const { states: current, layers: currentLayers } = toApply.length ? await this.rows.load(ids, ctx.pass) : { states, layers };
    const reachable = ctx.unreachable?.size ? page.filter((v) => !ctx.unreachable!.has(v.id)) : page;
    await this.o.verifier.verifyPage(reachable, current, now, ctx.vp, counts, currentLayers);
    if (forecastCandidates.length) counts.notices += await this.o.notices.forecastAlerts(forecastCandidates, now);
  }
}

/** `p`, with its rejection handled: it is awaited later, and must not be reported unhandled before. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
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
