/**
 * What enforcement decisions tell people: the data a notice about a volume carries (snapshotted
 * when it is enqueued), and the notices of transitions, of a grace period about to end, and of a
 * forecast that says full soon. All are written to the outbox in the caller's transaction.
 */
import type { Knex } from 'knex';
import { inTransaction, type Db } from '../db/database.js';
import type { NewNotice, NoticeData, NoticeType } from '../notifications/notice.js';
import type { Outbox } from '../notifications/outbox.js';
import { forecastFull } from '../quotas/forecast.js';
import type { UsageReadModel } from '../quotas/usage-read-model.js';
import type { TenantReadModel } from '../tenants/tenant-read-model.js';
import type { WalkReadModel } from '../walks/walk-read-model.js';
import type { Volume } from '../volumes/volume.js';
import { initialState, type EnforcementStore, type StateRow } from './enforcement-store.js';
import { jsonLimits, limitsOf, toRelease, type Reading as PolicyReading } from './policy.js';
import { graceWarningDue, subjectTransition, type Transition } from './subject-decision.js';

/** Warn this long before a grace period ends. */
export const GRACE_WARNING_MS = 24 * 3_600_000;
/** How many forecasts are checked per pass (least recently checked first). */
const FORECAST_PER_PASS = 200;

/** Tunables the notices need. */
export interface NoticeOptions {
  hysteresis: number;
  forecastWindowDays: number;
  forecastAlertDays: number;
  publicUrl: string;
}

/** A volume whose forecast may be due, with its reading. */
export interface ForecastCandidate {
  v: Volume;
  reading: Extract<PolicyReading, { ok: true }>;
  checkedAt: Date | null;
}

/** A volume's notice of each transition. */
const TRANSITION_NOTICES: Record<Transition, NoticeType> = { frozen: 'quota.frozen', unfrozen: 'quota.unfrozen', soft_exceeded: 'quota.soft_exceeded' };

/** The notice a transition deserves, if any (pure: dry runs report it without enqueuing). */
export function transitionNoticeType(cur: Pick<StateRow, 'state' | 'manual'>, next: Pick<StateRow, 'state' | 'manual'>): NoticeType | null {
  const t = subjectTransition(cur, next);
  return t && TRANSITION_NOTICES[t];
}

/** Builds and enqueues enforcement's notices. */
export class EnforcementNotices {
  constructor(
    private readonly db: Knex,
    private readonly states: EnforcementStore,
    private readonly outbox: Outbox,
    /** A notice names the tenant and the largest directories; a forecast reads the recent samples. */
    private readonly reads: { usage: Pick<UsageReadModel, 'hourly'>; walks: WalkReadModel; tenants: TenantReadModel },
    private readonly opts: NoticeOptions,
  ) {}

  /** The notice of a transition, if it deserves one; returns its type when one was enqueued. */
  async transition(trx: Db, v: Volume, cur: StateRow, next: StateRow, detail: string | null): Promise<NoticeType | null> {
    const type = transitionNoticeType(cur, next);
    if (!type) return null;
    const reading: PolicyReading = next.bytes !== null ? { ok: true, bytes: next.bytes, inodes: next.inodes ?? 0n, readAt: next.readAt ?? new Date() } : { ok: false, error: '' };
    const data = await this.noticeData(trx, v, next, reading, detail);
    const n: NewNotice = { eventKey: `${v.id}:${type}:${(next.since ?? new Date()).toISOString()}`, type, audience: 'tenant', tenantId: v.tenantId, volumeId: v.id, data };
    return (await this.outbox.enqueue(trx, n)) ? type : null;
  }

  /** "Writes stop in 24 h": once per grace period; true when it was enqueued now. */
  async graceWarning(trx: Db, v: Volume, s: StateRow, reading: PolicyReading, now: Date): Promise<boolean> {
    if (!s.graceDeadline || !graceWarningDue(s.state, s.graceDeadline, now, GRACE_WARNING_MS)) return false;
    const data = await this.noticeData(trx, v, s, reading, null);
    const n: NewNotice = { eventKey: `${v.id}:quota.grace_ending:${s.graceDeadline.toISOString()}`, type: 'quota.grace_ending', audience: 'tenant', tenantId: v.tenantId, volumeId: v.id, data };
    return this.outbox.enqueue(trx, n);
  }

  /**
   * Early warnings ("soft limit in 5 days", "full in 2 days"), paced by the outbox (once per
   * crossing, again when the forecast moves materially, a daily cap). A volume's forecast is
   * checked every few hours, at most {@link FORECAST_PER_PASS} per pass (least recently checked
   * first): trends over days do not need a five-minute cadence, and the sample reads stay small.
   */
  async forecastAlerts(cands: ForecastCandidate[], now: Date): Promise<number> {
    let sent = 0;
    const due = [...cands].sort((a, b) => (a.checkedAt?.getTime() ?? 0) - (b.checkedAt?.getTime() ?? 0)).slice(0, FORECAST_PER_PASS);
    const since = new Date(now.getTime() - this.opts.forecastWindowDays * 86_400_000);
    const samples = await this.reads.usage.hourly(
      this.db,
      due.map((c) => c.v.id),
      since,
    );
    for (const { v, reading } of due) {
      const series = [...(samples.get(v.id) ?? []), { at: reading.readAt, bytes: reading.bytes, inodes: reading.inodes }];
      // Early warnings per limit (issue 18); the soft one only while usage is still under it.
      const hard = forecastFull(series, v.quota.hardBytes, now);
      const soft = v.quota.softBytes !== null && reading.bytes < v.quota.softBytes ? forecastFull(series, v.quota.softBytes, now) : null;
      if (!hard && !soft) continue;
      await inTransaction(this.db, async (trx) => {
        const data = async () => this.noticeData(trx, v, (await this.states.transacting(trx).findState(v.id)) ?? initialState(v.id, v.tenantId, now), reading, null);
        const w = { tenantId: v.tenantId, volumeId: v.id, forecasts: { hard, soft }, limits: { hard: v.quota.hardBytes, soft: v.quota.softBytes }, bytesPerDay: (hard ?? soft)!.bytesPerDay, data };
        if (await this.outbox.warnForecast(trx, w, now)) sent++;
      });
    }
    await this.states.markForecastChecked(
      due.map((c) => ({ volumeId: c.v.id, tenantId: c.v.tenantId })),
      now,
    );
    return sent;
  }

  /** What a notice about `v` says, snapshotted now. */
  async noticeData(db: Db, v: Volume, s: StateRow, reading: PolicyReading, detail: string | null): Promise<NoticeData> {
    const tenant = await this.reads.tenants.find(db, v.tenantId);
    const walk = (await this.reads.walks.latest(db, [v.id])).get(v.id);
    const top = walk ? await this.reads.walks.topDirectories(db, walk.walkId, { maxDepth: 1, limit: 4, sort: 'bytes' }) : [];
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
      topDirectories: top
        .filter((d) => d.depth === 1)
        .slice(0, 3)
        .map((d) => ({ path: d.path, bytes: String(d.bytes), inodes: String(d.inodes) })),
      toRelease: release && { bytes: String(release.bytes), inodes: String(release.inodes) },
      links: { enforcement: `${this.opts.publicUrl}/v1/volumes/${v.id}/enforcement`, request: `${this.opts.publicUrl}/v1/volumes/${v.id}/quota-requests` },
      detail,
      manualUntil: s.manual?.until?.toISOString() ?? null,
    };
  }
}
