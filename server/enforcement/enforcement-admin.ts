/**
 * The admin commands of enforcement: freeze and unfreeze a volume (each a locked decision with
 * its transition, audit row and notice, carried out after commit) and release a volume's storage
 * rule before a purge. The usage is read before the transaction, never under the row lock.
 */
import type { Knex } from 'knex';
import type { Actor } from '../audit/audit-log.js';
import type { Principal } from '../auth/principal.js';
import { inTransaction } from '../db/database.js';
import { DependencyUnavailableError } from '../lib/deadline.js';
import { errors } from '../lib/errors.js';
import { failpoint, type FailpointName } from '../lib/failpoints.js';
import type { VolumeMetadata } from '../meta/volume-metadata.js';
import type { VolumeService } from '../volumes/volume-service.js';
import type { Volume } from '../volumes/volume.js';
import type { Applier } from './applier.js';
import { desire, policyCurrent } from './decisions.js';
import { zero } from './enforcement-pass.js';
import type { EnforcementOptions } from './enforcement-service.js';
import type { EnforcementStore, StateRow } from './enforcement-store.js';
import type { EnforcementRecorder } from './enforcement-transitions.js';
import { decide, frozenCapacity, limitsOf, type Reading as PolicyReading } from './policy.js';
import type { EvaluatedDecision } from './subject-decision.js';

/** What the admin commands are built from. */
export interface AdminDeps {
  db: Knex;
  states: EnforcementStore;
  volumes: VolumeService;
  metadata: VolumeMetadata;
  applier: Applier;
  recorder: EnforcementRecorder;
  opts: EnforcementOptions;
  /** Whether a volume has a storage layer (a bucket, and SeaweedFS configured). */
  hasStorage: (v: Volume) => boolean;
}

/** Admin freeze, unfreeze and the storage release before a purge. */
export class EnforcementAdmin {
  constructor(private readonly d: AdminDeps) {}

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
    const frozen = frozenCapacity({ bytes: usage.usedBytes, inodes: usage.usedInodes });
    await this.decideManually(actor, v, input.reason, 'freeze.after-commit', (cur) => ({
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
    }));
  }

  /**
   * Admin unfreeze: lifts a manual freeze and lets the policy decide at once on a fresh reading
   * (a volume still over its hard limit stays frozen, now for that reason).
   */
  async unfreeze(actor: Actor, principal: Principal, volumeId: string, input: { reason: string }): Promise<void> {
    const v = await this.activeVolume(principal, volumeId);
    const usage = await this.readNow(v);
    const now = new Date();
    const reading: PolicyReading = { ok: true, bytes: usage.usedBytes, inodes: usage.usedInodes, readAt: now };
    await this.decideManually(actor, v, input.reason, 'unfreeze.after-commit', (cur) => {
      if (!cur.manual) throw errors.notManuallyFrozen(v.id, cur.state);
      const d = decide(limitsOf(v), reading, { ...policyCurrent(cur), state: 'ok', manualFreeze: null, graceDeadline: null }, now, this.d.opts) as EvaluatedDecision;
      return {
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
      };
    });
  }

  /**
   * The locked path of an admin command: lock the state row, build the next state from it (which
   * may refuse), record the transition with its audit row and notice, commit; then carry it out.
   */
  private async decideManually(actor: Actor, v: Volume, reason: string, afterCommit: FailpointName, build: (cur: StateRow) => StateRow): Promise<void> {
    await inTransaction(this.d.db, async (trx) => {
      const states = this.d.states.transacting(trx);
      await states.ensureState(v.id, v.tenantId);
      const cur = (await states.findState(v.id, { forUpdate: true }))!;
      const next = desire(cur, build(cur), this.d.hasStorage(v));
      await this.d.recorder.transition(trx, v, cur, next, actor, reason, zero());
      await states.saveState(next);
    });
    failpoint(afterCommit);
    await this.d.recorder.carryOut(v.id, zero());
  }

  /**
   * Before a purge: the volume's storage rule is desired gone (and stays so), then carried out.
   * Throws when it could not be, so the purge stops and is retried rather than leaving a rule
   * behind for a bucket that no longer exists.
   */
  async releaseStorage(volumeId: string): Promise<void> {
    if (!this.d.opts.storageLayer) return;
    await inTransaction(this.d.db, (trx) => this.d.states.transacting(trx).setStorageDesired(volumeId, false));
    const r = await this.d.applier.apply(volumeId);
    const failed = r.failed.find((f) => f.layer === 'storage');
    if (failed) throw new DependencyUnavailableError('object store (SeaweedFS filer)', `could not remove the volume's freeze rule; purge again to finish: ${failed.error}`);
  }

  private async activeVolume(principal: Principal, volumeId: string): Promise<Volume> {
    const v = await this.d.volumes.get(principal, volumeId);
    if (v.state !== 'active') throw errors.volumeNotActive(volumeId, v.state);
    return v;
  }

  private async readNow(v: Volume) {
    try {
      return await this.d.metadata.readUsage(v);
    } catch (err) {
      if (err instanceof DependencyUnavailableError) throw err; // 503 naming the engine
      throw errors.metadataUnavailable(`could not read the volume's usage, nothing was changed: ${(err as Error).message}`);
    }
  }
}
