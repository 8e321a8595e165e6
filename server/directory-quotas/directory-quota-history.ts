/**
 * A directory quota's usage history and its time-to-limit forecasts, as volumes have theirs
 * (server/quotas/usage-service.ts): the samples the counters pass keeps (raw for two days, then
 * hourly and daily maxima), and for bytes and inodes a least-squares trend over the forecast
 * window (server/quotas/forecast.ts) extended to the soft and the hard limit. The same for
 * JuiceFS 1.4 user and group quotas (rows of the same store, by kind). Reads only; the quota
 * service decides who may see which quota (engineers: only the ones they own).
 */
import type { Principal } from '../auth/principal.js';
import { forecastFull, type Forecast, type Sample } from '../quotas/forecast.js';
import type { Resolution } from '../quotas/sample-retention.js';
import type { Volume } from '../volumes/volume.js';
import type { DirectoryQuota, GrantUsage, QuotaKind } from './directory-quota.js';
import type { DirectoryQuotaSample, DirectoryQuotaStore } from './directory-quota-store.js';

const DAY = 86_400_000;

/** What the history needs. */
export interface DirectoryQuotaHistoryDeps {
  store: Pick<DirectoryQuotaStore, 'listSamples'>;
  volumes: { get(principal: Principal, volumeId: string): Promise<Volume> };
  /** The quota service: its visibility rule and its usage read (the JuiceFS record, or the walk's figures). */
  quotas: {
    visibleQuota(principal: Principal, v: Volume, id: string, kind: QuotaKind): Promise<DirectoryQuota>;
    usageOf(v: Volume, q: DirectoryQuota): Promise<GrantUsage | null>;
  };
  /** How many days of samples a trend is drawn from (FORECAST_WINDOW_DAYS, as for volumes). */
  forecastWindowDays: number;
  clock?: () => Date;
}

/** When one measure reaches its soft and its hard limit; null where there is no forecast. */
export interface LimitForecasts {
  soft: Forecast | null;
  hard: Forecast | null;
}

/** A quota's forecasts, bytes and inodes (an inode forecast's `bytesPerDay` counts inodes). */
export interface DirectoryQuotaForecast {
  quotaId: string;
  volumeId: string;
  at: Date;
  windowDays: number;
  /** The newest point of the trend: the fresh reading, else the newest sample; null without either. */
  usage: Sample | null;
  bytes: LimitForecasts;
  inodes: LimitForecasts;
}

/** A quota's samples in a window. */
export interface DirectoryQuotaHistoryPage {
  quotaId: string;
  volumeId: string;
  since: Date;
  until: Date;
  samples: DirectoryQuotaSample[];
}

const newest = (series: readonly Sample[]) => series.reduce<Sample | undefined>((a, s) => (!a || s.at > a.at ? s : a), undefined);

/**
 * Forecasts of one series against a soft and a hard limit. The soft one only while usage is
 * still under it, as early warnings judge volumes (past it, the grace period is what counts);
 * the hard one as a volume's usage shows it (already reached and growing: due now).
 */
export function forecastLimits(series: readonly Sample[], soft: bigint | null, hard: bigint | null, now: Date): LimitForecasts {
  const latest = newest(series);
  return { soft: soft !== null && latest && latest.bytes < soft ? forecastFull(series, soft, now) : null, hard: forecastFull(series, hard, now) };
}

/** The same series with inodes where `forecastFull` reads bytes. */
const inodeSeries = (series: readonly Sample[]): Sample[] => series.map((s) => ({ at: s.at, bytes: s.inodes, inodes: s.inodes }));

/** History and forecast use cases of directory quotas. */
export class DirectoryQuotaHistory {
  private readonly clock: () => Date;
  constructor(private readonly d: DirectoryQuotaHistoryDeps) {
    this.clock = d.clock ?? (() => new Date());
  }

  /** The quota of this kind the caller may see (another kind's id is 404, as on its other routes). */
  private async visible(principal: Principal, volumeId: string, quotaId: string, kind: QuotaKind): Promise<{ v: Volume; q: DirectoryQuota }> {
    const v = await this.d.volumes.get(principal, volumeId);
    return { v, q: await this.d.quotas.visibleQuota(principal, v, quotaId, kind) };
  }

  /** Samples in [since, until), oldest first; by default the 30 days before now, as for volumes. */
  async history(principal: Principal, volumeId: string, quotaId: string, w: { since?: string; until?: string; resolution?: Resolution }, kind: QuotaKind = 'dir'): Promise<DirectoryQuotaHistoryPage> {
    const { q } = await this.visible(principal, volumeId, quotaId, kind);
    const until = w.until ? new Date(w.until) : this.clock();
    const since = w.since ? new Date(w.since) : new Date(until.getTime() - 30 * DAY);
    return { quotaId: q.id, volumeId: q.volumeId, since, until, samples: await this.d.store.listSamples(q.tenantId, q.id, { since, until, resolution: w.resolution }) };
  }

  /**
   * When the quota reaches each of its limits at the rate of the window's samples, with the
   * usage read now as the newest point (when it is newer than every sample and can be read).
   */
  async forecast(principal: Principal, volumeId: string, quotaId: string, kind: QuotaKind = 'dir'): Promise<DirectoryQuotaForecast> {
    const { v, q } = await this.visible(principal, volumeId, quotaId, kind);
    const now = this.clock();
    // `until` just past now: a sample the pass took at this very instant belongs to the trend.
    const stored = await this.d.store.listSamples(q.tenantId, q.id, { since: new Date(now.getTime() - this.d.forecastWindowDays * DAY), until: new Date(now.getTime() + 1) });
    const fresh = v.state === 'active' && q.state === 'active' ? await this.fresh(v, q, now) : null;
    const series: Sample[] = stored.map((s) => ({ at: s.at, bytes: s.bytes, inodes: s.inodes }));
    if (fresh && !series.some((s) => s.at >= fresh.at)) series.push(fresh);
    const l = q.quota;
    return {
      quotaId: q.id,
      volumeId: q.volumeId,
      at: now,
      windowDays: this.d.forecastWindowDays,
      usage: newest(series) ?? null,
      bytes: forecastLimits(series, l.softBytes, l.hardBytes, now),
      inodes: forecastLimits(inodeSeries(series), l.softInodes, l.hardInodes, now),
    };
  }

  /** The usage now: the JuiceFS record read at `now`, or the latest walk's figures at their time; null when unknown. */
  private async fresh(v: Volume, q: DirectoryQuota, now: Date): Promise<Sample | null> {
    if (!q.native) return q.walkUsage && { ...q.walkUsage };
    const u = await this.d.quotas.usageOf(v, q);
    return u && { at: now, bytes: u.bytes, inodes: u.inodes };
  }
}
