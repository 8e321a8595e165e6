/** Usage for engineers: current counters, a time-to-full forecast, and the sample history. */
import type { Knex } from 'knex';
import type { Principal } from '../auth/principal.js';
import type { EnforcementStates } from '../enforcement/enforcement-states.js';
import { limitsOf, toRelease } from '../enforcement/policy.js';
import { pendingLink, whatYouCanDo, type PendingRequestReadModel } from '../requests/guidance.js';
import type { WalkService } from '../walks/walk-service.js';
import type { VolumeService } from '../volumes/volume-service.js';
import { forecastFull } from './forecast.js';
/** A usage reading as a pass records it (the usage store's type, part of this service's API). */
export type { Reading } from './usage-store.js';
import type { Reading, RecordOptions, Resolution, StorageComparisonRow, StoredReading, UsageStore } from './usage-store.js';

/** What the usage service is built from (by the composition root). */
export interface UsageServiceDeps {
  /** The pool: other features' read models (states, pending requests) are read in it. */
  db: Knex;
  /** Readings and samples. */
  store: UsageStore;
  volumes: VolumeService;
  walks: WalkService;
  /** A volume's state is part of its usage answer. */
  states: Pick<EnforcementStates, 'find'>;
  /** A volume's pending request is part of its usage answer. */
  requests: PendingRequestReadModel;
  forecastWindowDays: number;
  hysteresis: number;
  publicUrl: string;
}

/** Usage use cases. */
export class UsageService {
  /**
   * Stores a pass's readings (change-only samples); failed reads keep the last good numbers.
   * `sweep`: the readings are a whole listing page, so unchanged rows need not be written.
   */
  recordReadings(readings: readonly Reading[], opts: RecordOptions = {}): Promise<void> {
    return this.store.recordReadings(readings, opts);
  }

  /** The latest stored reading of each volume. */
  latestReadings(volumeIds: readonly string[]): Promise<Map<string, StoredReading>> {
    return this.store.latestReadings(volumeIds);
  }

  /** Active volumes with a bucket and their last counted bytes (the reconcile pass's comparison). */
  storageComparison(): Promise<StorageComparisonRow[]> {
    return this.store.storageComparison();
  }

  /** Stores what a volume's bucket holds, beside its counters. */
  recordStorageUsage(volumeId: string, u: { bytes: bigint; objects: bigint }, at: Date): Promise<void> {
    return this.store.recordStorageUsage(volumeId, u, at);
  }

  /** Folds old raw samples into hourly and daily maxima (the counters job, after each pass). */
  downsample(now: Date): Promise<{ folded: number; pruned: number }> {
    return this.store.downsample(now);
  }

  private readonly db: Knex;
  private readonly store: UsageStore;
  private readonly volumes: VolumeService;
  private readonly walks: WalkService;
  private readonly forecastWindowDays: number;
  private readonly hysteresis: number;
  private readonly publicUrl: string;
  private readonly states: Pick<EnforcementStates, 'find'>;
  private readonly requests: PendingRequestReadModel;

  constructor(d: UsageServiceDeps) {
    ({
      db: this.db,
      store: this.store,
      volumes: this.volumes,
      walks: this.walks,
      forecastWindowDays: this.forecastWindowDays,
      hysteresis: this.hysteresis,
      publicUrl: this.publicUrl,
      states: this.states,
      requests: this.requests,
    } = d);
  }

  /** Counters read now, the enforcement state, and when the volume fills at its recent rate. */
  async current(principal: Principal, volumeId: string) {
    const v = await this.volumes.get(principal, volumeId);
    const u = await this.walks.usageOf(v);
    const now = new Date();
    const since = new Date(now.getTime() - this.forecastWindowDays * 86_400_000);
    const samples = await this.store.listSamples(v.id, since, now);
    // The fresh reading counts as the newest sample.
    const forecast = forecastFull([...samples, { at: u.readAt, bytes: u.usedBytes, inodes: u.usedInodes }], v.quota.hardBytes, now);
    const state = await this.states.find(this.db, v.id);
    const pending = await pendingLink(this.db, v.id, this.publicUrl, this.requests);
    const need = toRelease(limitsOf(v), { bytes: u.usedBytes, inodes: u.usedInodes }, this.hysteresis);
    const steps = whatYouCanDo({ volumeId: v.id, publicUrl: this.publicUrl, state: state?.state ?? 'ok', manual: state?.manual ?? null, toRelease: need, pending });
    return { ...u, quota: v.quota, state: state?.state ?? 'ok', forecast, pendingRequest: pending, whatYouCanDo: steps };
  }

  /** Samples in a window, oldest first (raw for recent days, hourly and daily maxima further back). */
  async history(principal: Principal, volumeId: string, q: { since?: string; until?: string; resolution?: Resolution }) {
    const v = await this.volumes.get(principal, volumeId);
    const until = q.until ? new Date(q.until) : new Date();
    const since = q.since ? new Date(q.since) : new Date(until.getTime() - 30 * 86_400_000);
    return { volumeId: v.id, since, until, samples: await this.store.listSamples(v.id, since, until, q.resolution) };
  }
}
