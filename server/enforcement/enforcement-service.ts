/**
 * Quota enforcement: turns usage readings into states (ok, over_soft, frozen) and records each
 * decision, in one transaction, with its audit row, its notices and the desired state of every
 * layer (JuiceFS Capacity/Inodes, the SeaweedFS read-only rule). The {@link Applier} carries the
 * desired state out after commit; the {@link Verifier} checks it against the systems every pass.
 * No external system is called inside a transaction or under a row lock.
 *
 * Scale: a pass loads states for a page of volumes in one query and decides in memory; only
 * volumes whose decision changes something take the per-volume path, which locks the state row
 * (so the scheduler and an admin never interleave on one volume), decides again on the locked
 * row, checks the lease and commits; the apply follows.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import client from 'prom-client';
import type { Principal } from '../auth/principal.js';
import { recordAudit, type Actor } from '../audit/audit-log.js';
import { inTransaction, type Db } from '../db/database.js';
import { errors } from '../lib/errors.js';
import { LeaseLostError, type Lease } from '../jobs/lease.js';
import { DependencyUnavailableError } from '../lib/deadline.js';
import type { Outbox } from '../notifications/outbox.js';
import { latestReadings, recordReadings, type Reading } from '../quotas/usage-store.js';
import { latestWalks } from '../scanner/scan-store.js';
import { findVolume, listVolumes } from '../volumes/volume-store.js';
import type { Volume } from '../volumes/volume.js';
import type { CounterUsage, VolumeMetadata } from '../meta/volume-metadata.js';
import type { VolumeService } from '../volumes/volume-service.js';
import type { StorageFreezer } from '../storage/storage-freeze.js';
import type { Applier } from './applier.js';
import { EnforcementNotices, GRACE_WARNING_MS } from './enforcement-notices.js';
import { Verifier, type VerifyPass } from './verifier.js';
import { countByState, ensureState, findState, initialState, insertTransition, loadStates, saveState, setStorageDesired, withGenerations, type StateRow } from './enforcement-store.js';
import { decide, frozenCapacity, jsonLimits, limitsOf, type Decision, type PolicyOptions, type Reading as PolicyReading } from './policy.js';

/** The actor recorded for the scheduler's own changes. */
export const ENFORCER: Actor = { sub: 'system:enforcer', role: 'system' };

/** Tunables of enforcement. */
export interface EnforcementOptions extends PolicyOptions {
  /** Walk-vs-counters disagreement (fraction of usage) above which the data is not trusted. */
  mismatchTolerance: number;
  forecastWindowDays: number;
  forecastAlertDays: number;
  publicUrl: string;
  /** Whether volumes with a bucket have a storage layer (SeaweedFS is configured). */
  storageLayer: boolean;
  /** Longest time between two verifications of a volume neither frozen nor clamped. */
  verifyEveryMs: number;
}

/** What the enforcement service is built from. */
export interface EnforcementDeps {
  db: Knex;
  log: Logger;
  volumes: VolumeService;
  metadata: VolumeMetadata;
  outbox: Outbox;
  applier: Applier;
  /** The storage layer of freezes (SeaweedFS read-only rules), when object storage is configured. */
  storage?: StorageFreezer;
  opts: EnforcementOptions;
  registry: client.Registry;
}

/** Drift below these is noise (in-flight writes during a walk), whatever the fraction. */
const MISMATCH_FLOOR = { bytes: 64n << 20n, inodes: 1000n };
/** Forecasts are computed for volumes at least this full (cheap filter for big fleets). */
const FORECAST_MIN_FILL = 0.5;
const PAGE = 1000;
/** Volumes whose changes are written at once (each holds a PostgreSQL connection). */
const APPLY_CONCURRENCY = 8;
/** How often one volume's forecast is checked, and how many are checked per pass. */
const FORECAST_EVERY_MS = 6 * 3_600_000;

/** Counts reported by a pass (recorded with the job run). */
export type PassCounts = Record<'volumes' | 'readFailed' | 'transitions' | 'frozen' | 'unfrozen' | 'unknown' | 'limitWrites' | 'errors' | 'notices' | 'verified' | 'drifts' | 'applied' | 'verifyFailed', number>;

/** Context of a pass. */
export interface PassContext {
  now?: Date;
  lease?: Lease;
  signal?: AbortSignal;
}

/** A pass's context while it decides one page. */
interface PageContext extends PassContext {
  counts: PassCounts;
  vp: VerifyPass;
  checkForecasts: boolean;
}

/** Quota enforcement. */
export class EnforcementService {
  private readonly transitions: client.Counter<'to'>;
  private readonly db: Knex;
  private readonly log: Logger;
  private readonly volumes: VolumeService;
  private readonly metadata: VolumeMetadata;
  private readonly outbox: Outbox;
  private readonly applier: Applier;
  private readonly opts: EnforcementOptions;
  private readonly verifier: Verifier;
  /** What the decisions tell people: notice data, transition, grace and forecast notices. */
  readonly notices: EnforcementNotices;

  constructor(d: EnforcementDeps) {
    ({ db: this.db, log: this.log, volumes: this.volumes, metadata: this.metadata, outbox: this.outbox, applier: this.applier, opts: this.opts } = d);
    const { db, registry } = d;
    this.notices = new EnforcementNotices(db, this.outbox, d.opts);
    this.verifier = new Verifier({
      db,
      log: this.log,
      metadata: this.metadata,
      storage: d.storage,
      applier: this.applier,
      outbox: this.outbox,
      registry,
      noticeData: (trx, v, s, detail) => this.notices.noticeData(trx, v, s, { ok: false, error: '' }, detail),
      everyMs: d.opts.verifyEveryMs,
    });
    this.transitions = new client.Counter({ name: 'headroom_enforcement_transitions_total', help: 'Enforcement transitions by target state', labelNames: ['to'], registers: [registry] });
    new client.Gauge({
      name: 'headroom_volumes_by_enforcement_state',
      help: 'Volumes per enforcement state (unknown counts volumes whose data is not trusted)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const counts = await countByState(db).catch(() => ({}) as Record<string, number>);
        for (const state of ['ok', 'over_soft', 'frozen', 'unknown']) this.set({ state }, counts[state] ?? 0);
      },
    });
  }

  /**
   * Reads every active volume's counters, stores them, and enforces on the fresh numbers. Pages
   * are pipelined: the next page's counters are read while this page is recorded and evaluated.
   */
  async countersPass(ctx: PassContext = {}): Promise<PassCounts> {
    const counts = zero();
    const vp: VerifyPass = {};
    let prefetch: Promise<Map<string, CounterUsage | Error>> | undefined;
    await this.eachPage(ctx, async (page, now, nextPage) => {
      const usage = await (prefetch ?? this.metadata.readUsageMany(page));
      prefetch = nextPage && this.metadata.readUsageMany(nextPage);
      prefetch?.catch(() => undefined); // awaited on the next page; never an unhandled rejection
      const readings: Reading[] = page.map((v) => {
        const u = usage.get(v.id);
        if (!u || u instanceof Error) return { volumeId: v.id, ok: false, error: u?.message ?? 'not read', at: now };
        return { volumeId: v.id, ok: true, bytes: u.usedBytes, inodes: u.usedInodes, at: now };
      });
      counts.readFailed += readings.filter((r) => !r.ok).length;
      await this.evaluatePage(page, new Map(readings.map((r) => [r.volumeId, toPolicy(r)])), now, { ...ctx, counts, vp, checkForecasts: false }, recordReadings(this.db, readings));
    });
    return counts;
  }

  /** Re-evaluates every active volume on its stored reading (time-driven changes, stale data). */
  async enforcePass(ctx: PassContext = {}): Promise<PassCounts> {
    const counts = zero();
    const vp: VerifyPass = {};
    await this.eachPage(ctx, async (page, now) => {
      const stored = await latestReadings(this.db, page.map((v) => v.id));
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

  /** Calls `fn` for each page of active volumes, handing it the next page too (for prefetching). */
  private async eachPage(ctx: PassContext, fn: (page: Volume[], now: Date, next: Volume[] | undefined) => Promise<void>): Promise<void> {
    let page = await listVolumes(this.db, { state: 'active', limit: PAGE });
    while (page.length) {
      ctx.signal?.throwIfAborted();
      const next = page.length < PAGE ? [] : await listVolumes(this.db, { state: 'active', afterId: page[page.length - 1]!.id, limit: PAGE });
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
    const [states, walks] = await Promise.all([loadStates(this.db, ids), latestWalks(this.db, ids), recording]);
    const toApply: { v: Volume; reading: PolicyReading }[] = [];
    const forecastCandidates: { v: Volume; reading: Extract<PolicyReading, { ok: true }>; checkedAt: Date | null }[] = [];
    for (const v of page) {
      counts.volumes++;
      const reading = this.trusted(readings.get(v.id) ?? { ok: false, error: 'not read' }, walks.get(v.id));
      const cur = states.get(v.id) ?? initialState(v.id, v.tenantId, now);
      const d = decide(limitsOf(v), reading, policyCurrent(cur), now, this.opts);
      if (needsWrite(cur, d, now, this.hasStorage(v))) toApply.push({ v, reading });
      const due = !cur.forecastCheckedAt || now.getTime() - cur.forecastCheckedAt.getTime() >= FORECAST_EVERY_MS;
      // Forecasts are a slow trend: checked by the `enforce` job on stored readings, keeping the
      // five-minute counters pass to reading and deciding.
      if (checkForecasts && due && reading.ok && d.kind === 'evaluated' && d.next !== 'frozen' && v.quota.hardBytes && Number(reading.bytes) >= Number(v.quota.hardBytes) * FORECAST_MIN_FILL) {
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
          await this.applyOne(v, reading, now, ctx, counts);
        } catch (err) {
          // A lost lease ends the pass: another instance is (or may be) enforcing now.
          if (err instanceof LeaseLostError) throw err;
          counts.errors++;
          this.log.error({ err, volumeId: v.id }, 'enforcement of a volume failed; it is retried next pass');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(APPLY_CONCURRENCY, toApply.length) }, worker));
    // The decisions above changed some states: verify against what is desired now.
    const current = toApply.length ? await loadStates(this.db, ids) : states;
    await this.verifier.verifyPage(page, current, now, ctx.vp, counts);
    if (forecastCandidates.length) counts.notices += await this.notices.forecastAlerts(forecastCandidates, now);
  }

  /** A reading is not acted upon when the last walk says the counters cannot be trusted. */
  private trusted(r: PolicyReading, walk: { finishedAt: Date; result: Record<string, unknown> } | undefined): PolicyReading {
    if (!r.ok || !walk) return r;
    const m = walk.result.mismatch as { bytesDelta: string; inodesDelta: string } | null | undefined;
    if (!m) return r;
    const db = abs(BigInt(m.bytesDelta));
    const di = abs(BigInt(m.inodesDelta));
    const tol = (used: bigint) => BigInt(Math.floor(Number(used) * this.opts.mismatchTolerance));
    if ((db > MISMATCH_FLOOR.bytes && db > tol(r.bytes)) || (di > MISMATCH_FLOOR.inodes && di > tol(r.inodes))) {
      return { ok: false, error: `the walk of ${walk.finishedAt.toISOString()} disagrees with the counters by ${m.bytesDelta} bytes and ${m.inodesDelta} inodes` };
    }
    return r;
  }

  /**
   * The locked, per-volume path: decide again on the locked row and commit the decision with its
   * desired state; then, the lock released, carry the desired state out.
   */
  private async applyOne(stale: Volume, reading: PolicyReading, now: Date, ctx: PassContext, counts: PassCounts): Promise<void> {
    const decided = await inTransaction(this.db, async (trx) => {
      await ensureState(trx, stale.id, stale.tenantId);
      // The limits as of now: a quota approved since the page was loaded must not be undone.
      const v = (await findVolume(trx, stale.id)) ?? stale;
      const cur = (await findState(trx, v.id, { forUpdate: true }))!;
      const d = decide(limitsOf(v), reading, policyCurrent(cur), now, this.opts);
      if (!needsWrite(cur, d, now, this.hasStorage(v))) return undefined;
      await ctx.lease?.assertHeld();
      if (d.kind === 'unknown') {
        if (cur.unknownReason === null) {
          counts.unknown++;
          await recordAudit(trx, ENFORCER, { action: 'enforcement.unknown', entityType: 'enforcement', entityId: v.id, tenantId: v.tenantId, before: { state: cur.state }, after: { state: cur.state, unknown: d.why } });
          const data = await this.notices.noticeData(trx, v, cur, reading, d.why);
          if (await this.outbox.enqueue(trx, { eventKey: `${v.id}:unknown:${now.toISOString()}`, type: 'admin.volume_unknown', audience: 'admins', tenantId: v.tenantId, volumeId: v.id, data })) counts.notices++;
        }
        await saveState(trx, { ...cur, unknownReason: d.why, unknownSince: cur.unknownSince ?? now, evaluatedAt: now });
        return undefined;
      }
      let next: StateRow = { ...cur, unknownReason: null, unknownSince: null, evaluatedAt: now, desiredCapacity: d.capacity.bytes, desiredInodes: d.capacity.inodes, graceDeadline: d.graceDeadline };
      if (d.changed) {
        const r = reading as Extract<PolicyReading, { ok: true }>;
        Object.assign(next, { state: d.next, reason: d.reason, since: d.next !== cur.state ? now : cur.since, bytes: r.bytes, inodes: r.inodes, readAt: r.readAt });
        if (d.clearManual) next.manual = null;
      }
      next = this.desire(v, cur, next);
      if (d.changed) await this.recordTransition(trx, v, cur, next, ENFORCER, null, counts);
      await saveState(trx, next);
      if (await this.notices.graceWarning(trx, v, next, reading, now)) counts.notices++;
      return next.metadataGeneration !== cur.metadataGeneration || next.storageGeneration !== cur.storageGeneration;
    });
    if (decided) await this.carryOut(stale.id, counts);
  }

  /** `next` with its storage rule desired as its state says, and its generations carried on. */
  private desire(v: Volume, cur: StateRow, next: StateRow): StateRow {
    return withGenerations(cur, { ...next, storageDesired: this.hasStorage(v) && next.state === 'frozen' });
  }

  /** Carries a committed decision out now (the applier records, retries and never throws for a system's failure). */
  private async carryOut(volumeId: string, counts: PassCounts): Promise<void> {
    const r = await this.applier.apply(volumeId);
    if (r.wrote.includes('metadata')) counts.limitWrites++;
    if (r.failed.length) counts.errors++;
  }

  private hasStorage(v: Volume): boolean {
    return Boolean(this.opts.storageLayer && v.storage.bucket);
  }

  /** Writes the transition row, its audit row and its notice. */
  private async recordTransition(trx: Db, v: Volume, cur: StateRow, next: StateRow, actor: Actor, detail: string | null, counts: PassCounts): Promise<void> {
    await insertTransition(trx, v.id, v.tenantId, {
      from: cur.state,
      to: next.state,
      reason: next.reason,
      bytes: next.bytes,
      inodes: next.inodes,
      limits: jsonLimits(v),
      actor: actor.sub,
      detail,
    });
    await recordAudit(trx, actor, {
      action: 'enforcement.transition',
      entityType: 'enforcement',
      entityId: v.id,
      tenantId: v.tenantId,
      before: { state: cur.state, reason: cur.reason, manual: cur.manual?.reason ?? null },
      after: { state: next.state, reason: next.reason, manual: next.manual?.reason ?? null, bytes: String(next.bytes), inodes: String(next.inodes), capacity: String(next.desiredCapacity), capacityInodes: String(next.desiredInodes), detail },
    });
    counts.transitions++;
    this.transitions.inc({ to: next.state });
    const type = await this.notices.transition(trx, v, cur, next, detail);
    if (type === 'quota.frozen') counts.frozen++;
    if (type === 'quota.unfrozen') counts.unfrozen++;
    if (type) counts.notices++;
  }

  /**
   * Decides one volume now on a fresh reading (after its quota changed: an approval unfreezes at
   * once, a reverted grant re-freezes at once). A failed read changes nothing; the next pass
   * decides instead.
   */
  async reevaluate(volumeId: string): Promise<PassCounts> {
    const counts = zero();
    const v = await findVolume(this.db, volumeId);
    if (!v || v.state !== 'active') return counts;
    const now = new Date();
    let reading: PolicyReading;
    try {
      const u = await this.metadata.readUsage(v);
      reading = { ok: true, bytes: u.usedBytes, inodes: u.usedInodes, readAt: now };
      await recordReadings(this.db, [{ volumeId: v.id, ok: true, bytes: u.usedBytes, inodes: u.usedInodes, at: now }]);
    } catch (err) {
      this.log.warn({ err, volumeId }, 'could not read usage to re-evaluate; the next pass will');
      return counts;
    }
    const walk = (await latestWalks(this.db, [v.id])).get(v.id);
    await this.applyOne(v, this.trusted(reading, walk), now, {}, counts);
    return counts;
  }

  /**
   * Admin freeze: clamps JuiceFS to the current usage now and holds the volume frozen until
   * `until` (or until an admin lifts it), whatever the scheduler reads meanwhile.
   */
  async freeze(actor: Actor, principal: Principal, volumeId: string, input: { reason: string; until?: string }): Promise<void> {
    const v = await this.activeVolume(principal, volumeId);
    const until = input.until ? new Date(input.until) : null;
    if (until && until <= new Date()) throw errors.validation('`until` must be in the future', [{ path: '/body/until', message: 'must be in the future' }]);
    const usage = await this.readNow(v);
    const now = new Date();
    await inTransaction(this.db, async (trx) => {
      await ensureState(trx, v.id, v.tenantId);
      const cur = (await findState(trx, v.id, { forUpdate: true }))!;
      const frozen = frozenCapacity({ bytes: usage.usedBytes, inodes: usage.usedInodes });
      const next = this.desire(v, cur, {
        ...cur,
        state: 'frozen',
        reason: 'manual_freeze',
        since: cur.state === 'frozen' ? cur.since : now,
        graceDeadline: null,
        bytes: usage.usedBytes,
        inodes: usage.usedInodes,
        readAt: now,
        manual: { reason: input.reason, until, by: actor.sub, at: now },
        desiredCapacity: frozen.bytes,
        desiredInodes: frozen.inodes,
        evaluatedAt: now,
      });
      await this.recordTransition(trx, v, cur, next, actor, input.reason, zero());
      await saveState(trx, next);
    });
    await this.carryOut(v.id, zero());
  }

  /**
   * Admin unfreeze: lifts a manual freeze and lets the policy decide at once on a fresh reading
   * (a volume still over its hard limit stays frozen, now for that reason).
   */
  async unfreeze(actor: Actor, principal: Principal, volumeId: string, input: { reason: string }): Promise<void> {
    const v = await this.activeVolume(principal, volumeId);
    const usage = await this.readNow(v);
    const now = new Date();
    await inTransaction(this.db, async (trx) => {
      await ensureState(trx, v.id, v.tenantId);
      const cur = (await findState(trx, v.id, { forUpdate: true }))!;
      if (!cur.manual) throw errors.notManuallyFrozen(v.id, cur.state);
      const reading: PolicyReading = { ok: true, bytes: usage.usedBytes, inodes: usage.usedInodes, readAt: now };
      const d = decide(limitsOf(v), reading, { ...policyCurrent(cur), state: 'ok', manualFreeze: null, graceDeadline: null }, now, this.opts) as Extract<Decision, { kind: 'evaluated' }>;
      const next = this.desire(v, cur, {
        ...cur,
        state: d.next,
        reason: d.next === 'ok' ? 'manual_unfreeze' : d.reason,
        since: now,
        graceDeadline: d.graceDeadline,
        bytes: usage.usedBytes,
        inodes: usage.usedInodes,
        readAt: now,
        manual: null,
        unknownReason: null,
        unknownSince: null,
        desiredCapacity: d.capacity.bytes,
        desiredInodes: d.capacity.inodes,
        evaluatedAt: now,
      });
      await this.recordTransition(trx, v, cur, next, actor, input.reason, zero());
      await saveState(trx, next);
    });
    await this.carryOut(v.id, zero());
  }

  /**
   * Before a purge: the volume's storage rule is desired gone (and stays so), then carried out.
   * Throws when it could not be, so the purge stops and is retried rather than leaving a rule
   * behind for a bucket that no longer exists.
   */
  async releaseStorage(volumeId: string): Promise<void> {
    if (!this.opts.storageLayer) return;
    await inTransaction(this.db, (trx) => setStorageDesired(trx, volumeId, false));
    const r = await this.applier.apply(volumeId);
    const failed = r.failed.find((f) => f.layer === 'storage');
    if (failed) throw new DependencyUnavailableError('object store (SeaweedFS filer)', `could not remove the volume's freeze rule; purge again to finish: ${failed.error}`);
  }

  private async activeVolume(principal: Principal, volumeId: string): Promise<Volume> {
    const v = await this.volumes.get(principal, volumeId);
    if (v.state !== 'active') throw errors.volumeNotActive(volumeId, v.state);
    return v;
  }

  private async readNow(v: Volume) {
    try {
      return await this.metadata.readUsage(v);
    } catch (err) {
      if (err instanceof DependencyUnavailableError) throw err; // 503 naming the engine
      throw errors.metadataUnavailable(`could not read the volume's usage, nothing was changed: ${(err as Error).message}`);
    }
  }
}

function policyCurrent(s: StateRow) {
  return { state: s.state, since: s.since, graceDeadline: s.graceDeadline, manualFreeze: s.manual && { until: s.manual.until, reason: s.manual.reason } };
}

/** Whether a decision changes anything that must be written. */
function needsWrite(cur: StateRow, d: Decision, now: Date, hasStorage: boolean): boolean {
  if (d.kind === 'unknown') return cur.unknownReason !== d.why;
  if (cur.unknownReason !== null || d.changed) return true;
  if (cur.storageDesired !== (hasStorage && d.next === 'frozen')) return true;
  if (cur.desiredCapacity !== d.capacity.bytes || cur.desiredInodes !== d.capacity.inodes) return true;
  if ((cur.graceDeadline?.getTime() ?? null) !== (d.graceDeadline?.getTime() ?? null)) return true;
  // Inside the last 24 h of grace: the warning notice is due (deduplicated by its event key).
  return d.next === 'over_soft' && d.graceDeadline !== null && d.graceDeadline.getTime() - now.getTime() <= GRACE_WARNING_MS;
}

function toPolicy(r: Reading): PolicyReading {
  return r.ok ? { ok: true, bytes: r.bytes, inodes: r.inodes, readAt: r.at } : { ok: false, error: r.error };
}

const zero = (): PassCounts => ({ volumes: 0, readFailed: 0, transitions: 0, frozen: 0, unfrozen: 0, unknown: 0, limitWrites: 0, errors: 0, notices: 0, verified: 0, drifts: 0, applied: 0, verifyFailed: 0 });
const abs = (x: bigint) => (x < 0n ? -x : x);
