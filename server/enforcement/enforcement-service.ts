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
import { failpoint } from '../lib/failpoints.js';
import type { Logger } from 'pino';
import client from 'prom-client';
import type { Principal } from '../auth/principal.js';
import { recordAudit, type Actor } from '../audit/audit-log.js';
import { inTransaction, type Db } from '../db/database.js';
import { errors } from '../lib/errors.js';
import { DependencyUnavailableError } from '../lib/deadline.js';
import type { Outbox } from '../notifications/outbox.js';
import { latestReadings, recordReadings } from '../quotas/usage-store.js';
import { latestWalks } from '../walks/walk-store.js';
import { findVolume } from '../volumes/volume-store.js';
import type { Volume } from '../volumes/volume.js';
import type { VolumeMetadata } from '../meta/volume-metadata.js';
import type { VolumeService } from '../volumes/volume-service.js';
import type { StorageFreezer } from '../storage/storage-freeze.js';
import type { Applier } from './applier.js';
import type { LayerStore } from './layer-store.js';
import type { UsageService } from '../quotas/usage-service.js';
import type { WalkService } from '../walks/walk-service.js';
import { EnforcementNotices } from './enforcement-notices.js';
import { Verifier } from './verifier.js';
import { needsWrite, policyCurrent, trustReading } from './decisions.js';
import { EnforcementPasses, zero, type PassContext, type PassCounts } from './enforcement-pass.js';
import type { DryRunReport } from './dry-run.js';
import { countByState, ensureState, findState, insertTransition, saveState, setStorageDesired, withGenerations, type StateRow } from './enforcement-store.js';
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
  layers: LayerStore;
  /** Readings are stored and loaded through the usage service, walks through the walk service. */
  usage: Pick<UsageService, 'recordReadings' | 'latestReadings'>;
  walks: Pick<WalkService, 'latestWalks'>;
  /** The storage layer of freezes (SeaweedFS read-only rules), when object storage is configured. */
  storage?: StorageFreezer;
  opts: EnforcementOptions;
  registry: client.Registry;
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
  private readonly passes: EnforcementPasses;
  /** What the decisions tell people: notice data, transition, grace and forecast notices. */
  readonly notices: EnforcementNotices;

  constructor(d: EnforcementDeps) {
    ({ db: this.db, log: this.log, volumes: this.volumes, metadata: this.metadata, outbox: this.outbox, applier: this.applier, opts: this.opts } = d);
    const { db, registry } = d;
    this.notices = new EnforcementNotices(db, this.outbox, d.opts);
    const verifier = new Verifier({
      db,
      layers: d.layers,
      log: this.log,
      metadata: this.metadata,
      storage: d.storage,
      applier: this.applier,
      outbox: this.outbox,
      registry,
      noticeData: (trx, v, s, detail) => this.notices.noticeData(trx, v, s, { ok: false, error: '' }, detail),
      everyMs: d.opts.verifyEveryMs,
    });
    this.passes = new EnforcementPasses({
      db,
      layers: d.layers,
      volumes: d.volumes,
      usage: d.usage,
      walks: d.walks,
      log: this.log,
      metadata: this.metadata,
      verifier,
      notices: this.notices,
      decisions: this,
      opts: d.opts,
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

  /** Reads every active volume's counters, stores them, and enforces on the fresh numbers. */
  countersPass(ctx: PassContext = {}): Promise<PassCounts> {
    return this.passes.countersPass(ctx);
  }

  /** Re-evaluates every active volume on its stored reading (time-driven changes, stale data). */
  enforcePass(ctx: PassContext = {}): Promise<PassCounts> {
    return this.passes.enforcePass(ctx);
  }

  /** What a pass would change, changing nothing: no state, audit, outbox, JuiceFS or SeaweedFS write (see dry-run.ts). */
  async dryRun(pass: 'counters' | 'enforce', now?: Date): Promise<{ counts: PassCounts; report: DryRunReport }> {
    const report: DryRunReport = { changes: [] };
    const counts = await (pass === 'counters' ? this.passes.countersPass({ now, dryRun: report }) : this.passes.enforcePass({ now, dryRun: report }));
    return { counts, report };
  }

  /**
   * The locked, per-volume path (a pass's, or a re-evaluation's): decide again on the locked row and commit the decision with its
   * desired state; then, the lock released, carry the desired state out.
   */
  async decideLocked(stale: Volume, reading: PolicyReading, now: Date, ctx: PassContext, counts: PassCounts): Promise<void> {
    const decided = await inTransaction(this.db, (trx) => this.decideIn(trx, stale, reading, now, ctx, counts));
    if (decided) await this.carryOut(stale.id, counts);
  }

  /**
   * Decides one volume inside the caller's transaction (locking its state row), recording the
   * decision, its audit row, notices and desired state; true when the desired state changed and
   * must be carried out after commit.
   */
  private async decideIn(trx: Db, stale: Volume, reading: PolicyReading, now: Date, ctx: PassContext, counts: PassCounts): Promise<boolean> {
    await ensureState(trx, stale.id, stale.tenantId);
    // The limits as of now: a quota approved since the page was loaded must not be undone.
    const v = (await findVolume(trx, stale.id)) ?? stale;
    const cur = (await findState(trx, v.id, { forUpdate: true }))!;
    const d = decide(limitsOf(v), reading, policyCurrent(cur), now, this.opts);
    if (!needsWrite(cur, d, now, this.hasStorage(v))) return false;
    await ctx.lease?.assertHeld();
    if (d.kind === 'unknown') {
      if (cur.unknownReason === null) {
        counts.unknown++;
        await recordAudit(trx, ENFORCER, {
          action: 'enforcement.unknown',
          entityType: 'enforcement',
          entityId: v.id,
          tenantId: v.tenantId,
          before: { state: cur.state },
          after: { state: cur.state, unknown: d.why },
        });
        const data = await this.notices.noticeData(trx, v, cur, reading, d.why);
        if (await this.outbox.enqueue(trx, { eventKey: `${v.id}:unknown:${now.toISOString()}`, type: 'admin.volume_unknown', audience: 'admins', tenantId: v.tenantId, volumeId: v.id, data }))
          counts.notices++;
      }
      await saveState(trx, { ...cur, unknownReason: d.why, unknownSince: cur.unknownSince ?? now, evaluatedAt: now });
      return false;
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
  }

  /**
   * A decision taken in the transaction that changes a volume's limits (a grant, or its revert),
   * so the new quota and what JuiceFS and SeaweedFS must hold commit together. It decides on the
   * stored reading when that is fresh enough to act on; otherwise it leaves the decision to
   * {@link afterQuotaChange}, which reads the engine after commit.
   */
  async decideWithin(trx: Db, volumeId: string, now = new Date()): Promise<void> {
    const v = await findVolume(trx, volumeId);
    const r = (await latestReadings(trx, [volumeId])).get(volumeId);
    if (!v || v.state !== 'active' || !r || r.readAt === null || r.bytes === null) return;
    if ((r.errorAt && r.errorAt > r.readAt) || now.getTime() - r.readAt.getTime() > this.opts.maxReadingAgeMs) return;
    const walk = (await latestWalks(trx, [volumeId])).get(volumeId);
    const reading = trustReading({ ok: true, bytes: r.bytes, inodes: r.inodes ?? 0n, readAt: r.readAt }, walk, this.opts.mismatchTolerance);
    await this.decideIn(trx, v, reading, now, {}, zero());
  }

  /**
   * After a quota change committed: carries out what {@link decideWithin} decided, then decides
   * again on a fresh reading of the engine (a failed read changes nothing; the next pass will).
   */
  async afterQuotaChange(volumeId: string): Promise<void> {
    await this.applier.apply(volumeId);
    await this.reevaluate(volumeId);
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

  /** Whether `v` has a storage layer (a bucket, and SeaweedFS configured). */
  hasStorage(v: Volume): boolean {
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
      after: {
        state: next.state,
        reason: next.reason,
        manual: next.manual?.reason ?? null,
        bytes: String(next.bytes),
        inodes: String(next.inodes),
        capacity: String(next.desiredCapacity),
        capacityInodes: String(next.desiredInodes),
        detail,
      },
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
    await this.decideLocked(v, trustReading(reading, walk, this.opts.mismatchTolerance), now, {}, counts);
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
    failpoint('freeze.after-commit');
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
    failpoint('unfreeze.after-commit');
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
