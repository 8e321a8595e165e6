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
 *
 * Beside it: the decision layer shared with directory quotas (`subject-decision.ts`, volumes'
 * side in `decisions.ts`), transition recording (`enforcement-transitions.ts`), the admin
 * commands (`enforcement-admin.ts`) and the passes (`enforcement-pass.ts`).
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import client from 'prom-client';
import type { Principal } from '../auth/principal.js';
import type { Actor } from '../audit/audit-log.js';
import { inTransaction, type Db } from '../db/database.js';
import type { Outbox } from '../notifications/outbox.js';
import type { TenantReadModel } from '../tenants/tenant-read-model.js';
import type { UsageReadModel } from '../quotas/usage-read-model.js';
import type { VolumeReadModel } from '../volumes/volume-read-model.js';
import type { WalkReadModel } from '../walks/walk-read-model.js';
import type { Volume } from '../volumes/volume.js';
import type { VolumeMetadata } from '../meta/volume-metadata.js';
import type { VolumeService } from '../volumes/volume-service.js';
import type { StorageFreezer } from '../storage/storage-freeze.js';
import type { Applier } from './applier.js';
import type { LayerStore } from './layer-store.js';
import type { UsageService } from '../quotas/usage-service.js';
import type { WalkService } from '../walks/walk-service.js';
import { EnforcementNotices } from './enforcement-notices.js';
import { enforcementView } from './enforcement-view.js';
import { Verifier } from './verifier.js';
import { desire, needsWrite, policyCurrent, stateAfter, trustReading } from './decisions.js';
import { EnforcementAdmin } from './enforcement-admin.js';
import { EnforcementPasses, zero, type PassContext, type PassCounts } from './enforcement-pass.js';
import { EnforcementRecorder } from './enforcement-transitions.js';
import type { DryRunReport } from './dry-run.js';
import type { EnforcementStore } from './enforcement-store.js';
import { decide, limitsOf, type PolicyOptions, type Reading as PolicyReading } from './policy.js';

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
  /** Enforcement states and transitions. */
  states: EnforcementStore;
  log: Logger;
  volumes: VolumeService;
  metadata: VolumeMetadata;
  outbox: Outbox;
  applier: Applier;
  layers: LayerStore;
  /** Readings are stored and loaded through the usage service, walks through the walk service. */
  usage: Pick<UsageService, 'recordReadings' | 'latestReadings'>;
  walks: Pick<WalkService, 'latestWalks'>;
  /** What a decision reads of volumes, readings, walks and tenants inside its own transaction. */
  reads: { volumes: VolumeReadModel; usage: UsageReadModel; walks: WalkReadModel; tenants: TenantReadModel };
  /** The storage layer of freezes (SeaweedFS read-only rules), when object storage is configured. */
  storage?: StorageFreezer;
  opts: EnforcementOptions;
  registry: client.Registry;
}

/** Quota enforcement. */
export class EnforcementService {
  private readonly db: Knex;
  private readonly log: Logger;
  private readonly volumes: VolumeService;
  private readonly metadata: VolumeMetadata;
  private readonly outbox: Outbox;
  private readonly applier: Applier;
  private readonly opts: EnforcementOptions;
  private readonly passes: EnforcementPasses;
  private readonly reads: EnforcementDeps['reads'];
  private readonly layers: LayerStore;
  private readonly states: EnforcementStore;
  private readonly usage: EnforcementDeps['usage'];
  /** Transition rows, audit rows and notices of committed decisions, and carrying them out. */
  private readonly recorder: EnforcementRecorder;
  private readonly admin: EnforcementAdmin;
  /** What the decisions tell people: notice data, transition, grace and forecast notices. */
  readonly notices: EnforcementNotices;

  constructor(d: EnforcementDeps) {
    ({
      db: this.db,
      log: this.log,
      volumes: this.volumes,
      metadata: this.metadata,
      outbox: this.outbox,
      applier: this.applier,
      opts: this.opts,
      reads: this.reads,
      usage: this.usage,
      layers: this.layers,
      states: this.states,
    } = d);
    const { db, registry, states } = d;
    this.notices = new EnforcementNotices(db, states, this.outbox, d.reads, d.opts);
    this.recorder = new EnforcementRecorder({ states, notices: this.notices, outbox: this.outbox, applier: this.applier, registry });
    this.admin = new EnforcementAdmin({ db, states, volumes: d.volumes, metadata: d.metadata, applier: d.applier, recorder: this.recorder, opts: d.opts, hasStorage: (v) => this.hasStorage(v) });
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
      states,
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
    new client.Gauge({
      name: 'headroom_volumes_by_enforcement_state',
      help: 'Volumes per enforcement state (unknown counts volumes whose data is not trusted)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const counts = await states.countByState().catch(() => ({}) as Record<string, number>);
        for (const state of ['ok', 'over_soft', 'frozen', 'unknown']) this.set({ state }, counts[state] ?? 0);
      },
    });
  }

  /** The "why am I frozen?" answer for a volume the caller may see (per layer: desired, observed, last verified). */
  async view(principal: Principal, volumeId: string) {
    const v = await this.volumes.get(principal, volumeId);
    return enforcementView(
      this.db,
      { states: this.states, layers: this.layers, usage: this.reads.usage },
      v,
      { hysteresis: this.opts.hysteresis, publicUrl: this.opts.publicUrl, storageLayer: this.opts.storageLayer },
      new Date(),
    );
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
    if (decided) await this.recorder.carryOut(stale.id, counts);
  }

  /**
   * Decides one volume inside the caller's transaction (locking its state row), recording the
   * decision, its audit row, notices and desired state; true when the desired state changed and
   * must be carried out after commit.
   */
  private async decideIn(trx: Db, stale: Volume, reading: PolicyReading, now: Date, ctx: PassContext, counts: PassCounts): Promise<boolean> {
    const states = this.states.transacting(trx);
    await states.ensureState(stale.id, stale.tenantId);
    // The limits as of now: a quota approved since the page was loaded must not be undone.
    const v = (await this.reads.volumes.find(trx, stale.id)) ?? stale;
    const cur = (await states.findState(v.id, { forUpdate: true }))!;
    const d = decide(limitsOf(v), reading, policyCurrent(cur), now, this.opts);
    if (!needsWrite(cur, d, now, this.hasStorage(v))) return false;
    await ctx.lease?.assertHeld();
    if (d.kind === 'unknown') {
      // Only the first unknown reading is audited and told to admins; later ones update the reason.
      if (cur.unknownReason === null) await this.recorder.unknown(trx, v, ENFORCER, cur, reading, d.why, now, counts);
      await states.saveState(stateAfter(cur, d, reading, now));
      return false;
    }
    const next = desire(cur, stateAfter(cur, d, reading, now), this.hasStorage(v));
    if (d.changed) await this.recorder.transition(trx, v, cur, next, ENFORCER, null, counts);
    await states.saveState(next);
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
    const v = await this.reads.volumes.find(trx, volumeId);
    const r = (await this.reads.usage.latest(trx, [volumeId])).get(volumeId);
    if (!v || v.state !== 'active' || !r || r.readAt === null || r.bytes === null) return;
    if ((r.errorAt && r.errorAt > r.readAt) || now.getTime() - r.readAt.getTime() > this.opts.maxReadingAgeMs) return;
    const walk = (await this.reads.walks.latest(trx, [volumeId])).get(volumeId);
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

  /** Whether `v` has a storage layer (a bucket, and SeaweedFS configured). */
  hasStorage(v: Volume): boolean {
    return Boolean(this.opts.storageLayer && v.storage.bucket);
  }

  /**
   * Decides one volume now on a fresh reading (after its quota changed: an approval unfreezes at
   * once, a reverted grant re-freezes at once). A failed read changes nothing; the next pass
   * decides instead.
   */
  async reevaluate(volumeId: string): Promise<PassCounts> {
    const counts = zero();
    const v = await this.reads.volumes.find(this.db, volumeId);
    if (!v || v.state !== 'active') return counts;
    const now = new Date();
    let reading: PolicyReading;
    try {
      const u = await this.metadata.readUsage(v);
      reading = { ok: true, bytes: u.usedBytes, inodes: u.usedInodes, readAt: now };
      await this.usage.recordReadings([{ volumeId: v.id, ok: true, bytes: u.usedBytes, inodes: u.usedInodes, at: now }]);
    } catch (err) {
      this.log.warn({ err, volumeId }, 'could not read usage to re-evaluate; the next pass will');
      return counts;
    }
    const walk = (await this.reads.walks.latest(this.db, [v.id])).get(v.id);
    await this.decideLocked(v, trustReading(reading, walk, this.opts.mismatchTolerance), now, {}, counts);
    return counts;
  }

  /**
   * Admin freeze: clamps JuiceFS to the current usage now and holds the volume frozen until
   * `until` (or until an admin lifts it), whatever the scheduler reads meanwhile.
   */
  freeze(actor: Actor, principal: Principal, volumeId: string, input: { reason: string; until?: string }): Promise<void> {
    return this.admin.freeze(actor, principal, volumeId, input);
  }

  /**
   * Admin unfreeze: lifts a manual freeze and lets the policy decide at once on a fresh reading
   * (a volume still over its hard limit stays frozen, now for that reason).
   */
  unfreeze(actor: Actor, principal: Principal, volumeId: string, input: { reason: string }): Promise<void> {
    return this.admin.unfreeze(actor, principal, volumeId, input);
  }

  /**
   * Before a purge: the volume's storage rule is desired gone (and stays so), then carried out.
   * Throws when it could not be, so the purge stops and is retried rather than leaving a rule
   * behind for a bucket that no longer exists.
   */
  releaseStorage(volumeId: string): Promise<void> {
    return this.admin.releaseStorage(volumeId);
  }
}
