/**
 * Pre-flight checks for engineers and training jobs: reads the live counters (a metadata call
 * with a deadline) and the Capacity/Inodes JuiceFS holds now, then lets {@link assessFit} decide.
 * Writes nothing: no reading is stored, no audit row, no decision taken.
 */
import type { Principal } from '../auth/principal.js';
import { DependencyUnavailableError } from '../lib/deadline.js';
import { errors } from '../lib/errors.js';
import type { SettingLimits, VolumeMetadata } from '../meta/volume-metadata.js';
import type { VolumeService } from '../volumes/volume-service.js';
import { assessFit, type FitVerdict, type PlannedWrite } from './fit.js';
import type { UsageService } from './usage-service.js';

/** What a pre-flight check answers: the verdict and the figures it was drawn from. */
export interface FitAnswer extends FitVerdict {
  volumeId: string;
  write: PlannedWrite;
  used: { bytes: bigint; inodes: bigint; readAt: Date };
  setting: SettingLimits;
  state: Awaited<ReturnType<UsageService['current']>>['state'];
  quota: Awaited<ReturnType<UsageService['current']>>['quota'];
}

/** What the fit service is built from. */
export interface FitDeps {
  volumes: Pick<VolumeService, 'get'>;
  usage: Pick<UsageService, 'current'>;
  metadata: Pick<VolumeMetadata, 'readLimitsMany'>;
}

/** "Would this write fit?" */
export class FitService {
  constructor(private readonly d: FitDeps) {}

  /** Whether `write` fits the volume now; 404 when the caller cannot see it, 503 when the engine does not answer. */
  async check(principal: Principal, volumeId: string, write: PlannedWrite, now = new Date()): Promise<FitAnswer> {
    const v = await this.d.volumes.get(principal, volumeId);
    if (v.state !== 'active') throw errors.volumeNotActive(v.id, v.state);
    // Both reads go to the engine, each under the metadata router's deadline; neither waits for the
    // other. The counters' failure is reported first: a single read says whether the engine was
    // unreachable or hung (dependency_unavailable), where a batch's per-volume error may not.
    const [counters, setting] = await Promise.allSettled([this.d.usage.current(principal, v.id), this.readSetting(v)]);
    if (counters.status === 'rejected') throw counters.reason;
    if (setting.status === 'rejected') throw setting.reason;
    const [u, limits] = [counters.value, setting.value];
    const used = { bytes: u.usedBytes, inodes: u.usedInodes };
    const verdict = assessFit({ write, used, quota: u.quota, setting: limits, state: u.state, forecast: u.forecast, now });
    return { volumeId: v.id, write, used: { ...used, readAt: u.readAt }, setting: limits, state: u.state, quota: u.quota, ...verdict };
  }

  private async readSetting(v: Parameters<VolumeMetadata['readLimitsMany']>[0][number]): Promise<SettingLimits> {
    let got: SettingLimits | Error | undefined;
    try {
      got = (await this.d.metadata.readLimitsMany([v])).get(v.id);
    } catch (err) {
      got = err as Error;
    }
    if (got === undefined) throw errors.metadataUnavailable("could not read the volume's setting");
    if (got instanceof DependencyUnavailableError) throw got; // hung or unreachable: 503 naming it
    if (got instanceof Error) throw errors.metadataUnavailable(`could not read the volume's setting: ${got.message}`);
    return got;
  }
}
