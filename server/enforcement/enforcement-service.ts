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
import type { NewNotice, NoticeData, NoticeType } from '../notifications/notice.js';
import type { Outbox } from '../notifications/outbox.js';
import { forecastFull } from '../quotas/forecast.js';
import { hourlySamples, latestReadings, recordReadings, type Reading } from '../quotas/usage-store.js';
import { latestWalks, topDirectories } from '../scanner/scan-store.js';
import { findTenant } from '../tenants/tenant-store.js';
import { findVolume, listVolumes } from '../volumes/volume-store.js';
import type { Volume } from '../volumes/volume.js';
import type { CounterUsage, VolumeMetadata } from '../meta/volume-metadata.js';
import type { VolumeService } from '../volumes/volume-service.js';
import type { StorageFreezer } from '../storage/storage-freeze.js';
import type { Applier } from './applier.js';
import { Verifier, type VerifyPass } from './verifier.js';
import { countByState, ensureState, findState, initialState, insertTransition, loadStates, markForecastChecked, saveState, setStorageDesired, withGenerations, type StateRow } from './enforcement-store.js';
import { decide, frozenCapacity, toRelease, type Decision, type Limits, type PolicyOptions, type Reading as PolicyReading } from './policy.js';

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
/** Warn this long before a grace period ends. */
const GRACE_WARNING_MS = 24 * 3_600_000;
/** Forecasts are computed for volumes at least this full (cheap filter for big fleets). */
const FORECAST_MIN_FILL = 0.5;
const PAGE = 1000;
/** Volumes whose changes are written at once (each holds a PostgreSQL connection). */
const APPLY_CONCURRENCY = 8;
/** How often one volume's forecast is checked, and how many are checked per pass. */
const FORECAST_EVERY_MS = 6 * 3_600_000;
const FORECAST_PER_PASS = 200;

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

  constructor(d: EnforcementDeps) {
    ({ db: this.db, log: this.log, volumes: this.volumes, metadata: this.metadata, outbox: this.outbox, applier: this.applier, opts: this.opts } = d);
    const { db, registry } = d;
    this.verifier = new Verifier({
      db,
      log: this.log,
      metadata: this.metadata,
      storage: d.storage,
      applier: this.applier,
      outbox: this.outbox,
      registry,
      noticeData: (trx, v, s, detail) => this.noticeData(trx, v, s, { ok: false, error: '' }, detail),
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
    if (forecastCandidates.length) await this.forecastAlerts(forecastCandidates, now, counts);
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
          const data = await this.noticeData(trx, v, cur, reading, d.why);
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
      await this.graceWarning(trx, v, next, reading, now, counts);
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
    let type: NoticeType | null = null;
    if (next.state === 'frozen' && (cur.state !== 'frozen' || next.reason === 'manual_freeze')) type = 'quota.frozen';
    else if (cur.state === 'frozen' && next.state !== 'frozen') type = 'quota.unfrozen';
    else if (cur.state === 'ok' && next.state === 'over_soft') type = 'quota.soft_exceeded';
    if (type === 'quota.frozen') counts.frozen++;
    if (type === 'quota.unfrozen') counts.unfrozen++;
    if (!type) return;
    const reading: PolicyReading = next.bytes !== null ? { ok: true, bytes: next.bytes, inodes: next.inodes ?? 0n, readAt: next.readAt ?? new Date() } : { ok: false, error: '' };
    const data = await this.noticeData(trx, v, next, reading, detail);
    const n: NewNotice = { eventKey: `${v.id}:${type}:${(next.since ?? new Date()).toISOString()}`, type, audience: 'tenant', tenantId: v.tenantId, volumeId: v.id, data };
    if (await this.outbox.enqueue(trx, n)) counts.notices++;
  }

  /** "Writes stop in 24 h": once per grace period. */
  private async graceWarning(trx: Db, v: Volume, s: StateRow, reading: PolicyReading, now: Date, counts: PassCounts): Promise<void> {
    if (s.state !== 'over_soft' || !s.graceDeadline) return;
    if (s.graceDeadline.getTime() - now.getTime() > GRACE_WARNING_MS) return;
    const data = await this.noticeData(trx, v, s, reading, null);
    const n: NewNotice = { eventKey: `${v.id}:quota.grace_ending:${s.graceDeadline.toISOString()}`, type: 'quota.grace_ending', audience: 'tenant', tenantId: v.tenantId, volumeId: v.id, data };
    if (await this.outbox.enqueue(trx, n)) counts.notices++;
  }

  /**
   * "Full within N days" notices, at most one per volume per alert window. A volume's forecast is
   * checked every few hours, at most {@link FORECAST_PER_PASS} per pass (least recently checked
   * first): trends over days do not need a five-minute cadence, and the sample reads stay small.
   */
  private async forecastAlerts(cands: { v: Volume; reading: Extract<PolicyReading, { ok: true }>; checkedAt: Date | null }[], now: Date, counts: PassCounts): Promise<void> {
    const due = [...cands].sort((a, b) => (a.checkedAt?.getTime() ?? 0) - (b.checkedAt?.getTime() ?? 0)).slice(0, FORECAST_PER_PASS);
    const since = new Date(now.getTime() - this.opts.forecastWindowDays * 86_400_000);
    const samples = await hourlySamples(this.db, due.map((c) => c.v.id), since);
    const windowMs = Math.max(1, this.opts.forecastAlertDays) * 86_400_000;
    for (const { v, reading } of due) {
      const series = [...(samples.get(v.id) ?? []), { at: reading.readAt, bytes: reading.bytes, inodes: reading.inodes }];
      const f = forecastFull(series, v.quota.hardBytes, now);
      if (!f || f.secondsToFull > this.opts.forecastAlertDays * 86_400) continue;
      await inTransaction(this.db, async (trx) => {
        const cur = (await findState(trx, v.id)) ?? initialState(v.id, v.tenantId, now);
        const data = await this.noticeData(trx, v, cur, reading, null);
        data.forecast = { fullAt: f.fullAt.toISOString(), bytesPerDay: String(f.bytesPerDay) };
        const n: NewNotice = { eventKey: `${v.id}:quota.forecast_full:${Math.floor(now.getTime() / windowMs)}`, type: 'quota.forecast_full', audience: 'tenant', tenantId: v.tenantId, volumeId: v.id, data };
        if (await this.outbox.enqueue(trx, n)) counts.notices++;
      });
    }
    await markForecastChecked(this.db, due.map((c) => ({ volumeId: c.v.id, tenantId: c.v.tenantId })), now);
  }

  /** What a notice about `v` says, snapshotted now. */
  async noticeData(db: Db, v: Volume, s: StateRow, reading: PolicyReading, detail: string | null): Promise<NoticeData> {
    const tenant = await findTenant(db, v.tenantId);
    const walk = (await latestWalks(db, [v.id])).get(v.id);
    const top = walk ? await topDirectories(db, walk.scanId, { maxDepth: 1, limit: 4, sort: 'bytes' }) : [];
    const usage = reading.ok ? { bytes: reading.bytes, inodes: reading.inodes } : s.bytes !== null ? { bytes: s.bytes, inodes: s.inodes ?? 0n } : null;
    const release = usage ? toRelease(limitsOf(v), usage, this.opts.hysteresis) : null;
    return {
      volume: { id: v.id, name: v.name },
      tenant: { id: v.tenantId, name: tenant?.displayName ?? v.tenantId },
      state: s.state,
      reason: s.reason,
      usage: usage && { bytes: String(usage.bytes), inodes: String(usage.inodes) },
      limits: jsonLimits(v),
      graceDeadline: s.graceDeadline?.toISOString() ?? null,
      forecast: null,
      topDirectories: top.filter((d) => d.depth === 1).slice(0, 3).map((d) => ({ path: d.path, bytes: String(d.bytes), inodes: String(d.inodes) })),
      toRelease: release && { bytes: String(release.bytes), inodes: String(release.inodes) },
      links: { enforcement: `${this.opts.publicUrl}/v1/volumes/${v.id}/enforcement`, request: `${this.opts.publicUrl}/v1/volumes/${v.id}/quota-requests` },
      detail,
      manualUntil: s.manual?.until?.toISOString() ?? null,
    };
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

/** The policy's view of a volume's quota. */
export function limitsOf(v: Volume): Limits {
  return { softBytes: v.quota.softBytes, hardBytes: v.quota.hardBytes, softInodes: v.quota.softInodes, hardInodes: v.quota.hardInodes, graceSeconds: v.quota.graceSeconds };
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

function jsonLimits(v: Volume) {
  const s = (x: bigint | null) => (x === null ? null : String(x));
  return { softBytes: s(v.quota.softBytes), hardBytes: s(v.quota.hardBytes), softInodes: s(v.quota.softInodes), hardInodes: s(v.quota.hardInodes) };
}

const zero = (): PassCounts => ({ volumes: 0, readFailed: 0, transitions: 0, frozen: 0, unfrozen: 0, unknown: 0, limitWrites: 0, errors: 0, notices: 0, verified: 0, drifts: 0, applied: 0, verifyFailed: 0 });
const abs = (x: bigint) => (x < 0n ? -x : x);
