/**
 * Carries a volume's desired enforcement state out into JuiceFS and SeaweedFS, after the
 * decision that set it has committed (the pattern of a Kubernetes controller: desired state in
 * one store, reconciled into the world, level-triggered and idempotent).
 *
 * - Never inside a transaction nor under a row lock: it reads the desired state, calls the
 *   system, then records what it did in one statement.
 * - Never an older generation over a newer one: calls for one volume are queued in this process;
 *   each reads the newest desired state just before writing, and re-reads it after; if a newer
 *   generation was committed meanwhile (by another instance, say) it goes round again.
 * - A failure is recorded with a retry time (exponential backoff); a timer retries it in this
 *   process, and every pass picks up whatever is still behind.
 */
import type { Logger } from 'pino';
import type { StateRow } from './enforcement-store.js';
import type { Layer, LayerStore } from './layer-store.js';
import type { StorageFreezer } from '../storage/storage-freeze.js';
import type { Volume } from '../volumes/volume.js';
import type { VolumeMetadata } from '../meta/volume-metadata.js';
import type { VolumeService } from '../volumes/volume-service.js';

/** What one apply did. */
export interface ApplyOutcome {
  /** Layers written (the system held something else, or was rewritten to repair drift). */
  wrote: Layer[];
  /** Layers that failed, with the error. */
  failed: { layer: Layer; error: string }[];
}

/** Options of the applier. */
export interface ApplierOptions {
  log: Logger;
  /** Where applied generations, observations and failures are recorded. */
  layers: LayerStore;
  /** The desired state of a volume, as its last decision committed it. */
  desired: (volumeId: string) => Promise<StateRow | undefined>;
  metadata: Pick<VolumeMetadata, 'setLimits'>;
  volumes: Pick<VolumeService, 'find'>;
  storage?: StorageFreezer;
  /** First retry delay; doubles per failed attempt up to {@link maxBackoffMs}. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** In-process retries before leaving the rest to the passes. */
  maxTimerRetries?: number;
}

/** Rounds of re-reading after a newer generation appeared mid-apply. */
const MAX_ROUNDS = 3;

/** Applies desired enforcement state; one per process. */
export class Applier {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxTimerRetries: number;
  private closed = false;

  constructor(private readonly o: ApplierOptions) {
    this.backoffMs = o.backoffMs ?? 1000;
    this.maxBackoffMs = o.maxBackoffMs ?? 5 * 60_000;
    this.maxTimerRetries = o.maxTimerRetries ?? 5;
  }

  /** When the attempt after `attempts` failures is due. */
  retryAt(attempts: number, now = new Date()): Date {
    return new Date(now.getTime() + Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.max(0, attempts - 1)));
  }

  /**
   * Brings the volume's systems in line with its desired state. `force` rewrites layers even when
   * their generation was applied (a verification found them changed behind Headroom's back).
   * Never throws for a system's failure: it is recorded and retried.
   */
  apply(volumeId: string, force: readonly Layer[] = []): Promise<ApplyOutcome> {
    const prev = this.queues.get(volumeId) ?? Promise.resolve();
    const run = prev.then(() => this.applyNow(volumeId, force));
    const tail = run.catch(() => undefined);
    this.queues.set(volumeId, tail);
    void tail.then(() => {
      if (this.queues.get(volumeId) === tail) this.queues.delete(volumeId);
    });
    return run;
  }

  private async applyNow(volumeId: string, force: readonly Layer[]): Promise<ApplyOutcome> {
    const out: ApplyOutcome = { wrote: [], failed: [] };
    const done = new Map<Layer, bigint>();
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const v = await this.o.volumes.find(volumeId);
      const s = await this.o.desired(volumeId);
      if (!v || !s || (v.state !== 'active' && v.state !== 'deleting')) return out;
      const applied = await this.o.layers.appliedGenerations(volumeId);
      let pending = false;
      for (const layer of this.layersOf(v)) {
        const gen = layer === 'metadata' ? s.metadataGeneration : s.storageGeneration;
        const want = force.includes(layer) ? gen : gen - 1n;
        // No row yet: generation 0, the seeded state, which onboarding wrote itself.
        if ((done.get(layer) ?? applied.get(layer) ?? 0n) > want) continue;
        if (layer === 'metadata' && s.desiredCapacity === null) continue;
        pending = true;
        const ok = await this.applyLayer(v, s, layer, out);
        if (!ok) return out;
        done.set(layer, gen);
      }
      if (!pending) return out;
      force = [];
    }
    return out;
  }

  private layersOf(v: Volume): Layer[] {
    return this.o.storage && v.storage.bucket ? ['metadata', 'storage'] : ['metadata'];
  }

  /** Writes one layer and records the outcome; false when it failed (retry scheduled). */
  private async applyLayer(v: Volume, s: StateRow, layer: Layer, out: ApplyOutcome): Promise<boolean> {
    const at = new Date();
    try {
      if (layer === 'metadata') {
        const limits = { capacity: s.desiredCapacity!, inodes: s.desiredInodes ?? 0n };
        const r = await this.o.metadata.setLimits(v, limits);
        if (r.changed) out.wrote.push(layer);
        await this.o.layers.recordApplied({
          volumeId: v.id,
          tenantId: v.tenantId,
          layer,
          generation: s.metadataGeneration,
          observed: { capacity: String(limits.capacity), inodes: String(limits.inodes) },
          at,
        });
      } else {
        const applied = await this.o.storage!.applyDesired();
        out.wrote.push(layer);
        const frozen = applied.has(v.id);
        // The set written is what PostgreSQL desired when it was read, for this volume too.
        const generation = applied.get(v.id) ?? s.storageGeneration;
        await this.o.layers.recordApplied({ volumeId: v.id, tenantId: v.tenantId, layer, generation, observed: { frozen }, at });
      }
      return true;
    } catch (err) {
      const error = (err as Error).message;
      out.failed.push({ layer, error });
      this.o.log.warn({ err, volumeId: v.id, layer }, 'desired enforcement state not applied; retrying with backoff');
      const attempts = await this.o.layers.recordApplyFailure({ volumeId: v.id, tenantId: v.tenantId, layer, error, at, retryAt: (n) => this.retryAt(n, at) }).catch(() => 1);
      this.scheduleRetry(v.id, attempts);
      return false;
    }
  }

  private scheduleRetry(volumeId: string, attempts: number): void {
    if (this.closed || attempts > this.maxTimerRetries) return; // the passes take over
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        void this.apply(volumeId).catch((err: unknown) => this.o.log.warn({ err, volumeId }, 'retrying an apply failed'));
      },
      this.retryAt(attempts).getTime() - Date.now(),
    );
    timer.unref();
    this.timers.add(timer);
  }

  /** Stops the retry timers and waits for applies in flight. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.queues.values()]);
  }
}
