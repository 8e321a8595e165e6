/**
 * The write side of notifications: called inside the transaction of the change a notice
 * announces, it resolves who gets it (the tenant's webhook, email and chat channels, or the
 * admins') and writes the notice and one delivery row per target. Nothing is sent here.
 *
 * Early warnings come through {@link Outbox.warnForecast}, which paces them (forecast-pacing.ts)
 * against what the volume was told before, in the same transaction.
 */
import { ulid } from 'ulid';
import type { Db } from '../db/database.js';
import type { TenantReadModel } from '../tenants/tenant-read-model.js';
import type { ChannelStore } from './channels/channel-store.js';
import type { FindingSource } from './finding-source.js';
import { planWarning, type LevelForecasts, type PacingOptions, type WarningLevel } from './forecast-pacing.js';
import { PAYLOAD_VERSION, type Language, type NewNotice, type NoticeData, type NoticeType } from './notice.js';
import type { DeliveryTarget, NotificationStore } from './notification-store.js';

/** Where admin alerts go, and which channels this server can deliver on. */
export interface OutboxOptions {
  /** Where notices, their deliveries and the early-warning memory are written (in the caller's transaction). */
  store: NotificationStore;
  /** Who a tenant's notice goes to (webhook, email, language), read in the notice's transaction. */
  tenants: TenantReadModel;
  adminEmail?: string;
  adminWebhookUrl?: string;
  emailEnabled: boolean;
  /** Tenants' chat and extra channels (none when absent). */
  channels?: ChannelStore;
  /** The latest walk's findings, carried by early warnings. */
  findings?: FindingSource;
  /** Early-warning pacing (defaults: see config FORECAST_*). */
  pacing?: PacingOptions;
}

/** An early warning to consider: the forecasts per limit and the notice data of the volume. */
export interface ForecastWarning {
  tenantId: string;
  volumeId: string;
  forecasts: LevelForecasts;
  limits: Record<WarningLevel, bigint | null>;
  /** The growth the forecasts are drawn from. */
  bytesPerDay: number;
  /** The notice data, snapshotted (called only when a warning is sent). */
  data: () => Promise<NoticeData>;
}

const DEFAULT_PACING: PacingOptions = { horizonDays: { hard: 7, soft: 7 }, resendChange: 0.25, resendShiftHours: 24, maxPerDay: 2 };
const TYPE_OF: Record<WarningLevel, NoticeType> = { hard: 'quota.forecast_full', soft: 'quota.forecast_soft' };

/** Enqueues notices. */
export class Outbox {
  constructor(
    private readonly opts: OutboxOptions,
    /** Called after a notice is enqueued, to wake the dispatcher early. */
    private readonly wake: () => void = () => {},
  ) {}

  /** Writes `n` in the caller's transaction; false when its event was already enqueued. */
  async enqueue(trx: Db, n: NewNotice): Promise<boolean> {
    const targets: DeliveryTarget[] = [];
    let language: Language = 'en';
    if (n.audience === 'admins') {
      if (this.opts.adminWebhookUrl) targets.push({ channel: 'webhook', target: this.opts.adminWebhookUrl });
      if (this.opts.adminEmail && this.opts.emailEnabled) targets.push({ channel: 'email', target: this.opts.adminEmail });
    } else {
      const t = await this.opts.tenants.find(trx, n.tenantId);
      if (t) {
        language = t.language;
        if (t.webhookUrl) targets.push({ channel: 'webhook', target: t.webhookUrl });
        if (this.opts.emailEnabled) targets.push({ channel: 'email', target: t.email });
        // Channels are named by id: the address (often the credential) is read at delivery.
        for (const c of (await this.opts.channels?.in(trx).list(n.tenantId, { enabledOnly: true })) ?? []) {
          if (c.kind !== 'email' || this.opts.emailEnabled) targets.push({ channel: c.kind, target: c.id });
        }
      }
    }
    const id = `ntf_${ulid().toLowerCase()}`;
    const created = await this.opts.store.joined(trx).store.insertNotice({ ...n, id, version: PAYLOAD_VERSION, language }, targets);
    if (created) this.wake();
    return created;
  }

  /**
   * Sends the early warning the forecasts call for, if any: once per crossing into a horizon,
   * again when the forecast moved materially, at most `maxPerDay` a day. Returns true when one
   * was enqueued. Runs in the caller's transaction (the volume's memory row is locked).
   */
  async warnForecast(trx: Db, w: ForecastWarning, now: Date): Promise<boolean> {
    const pacing = this.opts.pacing ?? DEFAULT_PACING;
    const store = this.opts.store.joined(trx).store;
    const prev = await store.lockWarningMemory(w.tenantId, w.volumeId);
    const plan = planWarning(prev, w.forecasts, now, pacing);
    if (JSON.stringify(plan.memory) !== JSON.stringify(prev)) await store.saveWarningMemory(w.tenantId, w.volumeId, plan.memory);
    const level = plan.send;
    if (!level) return false;
    const f = w.forecasts[level]!;
    const data = await w.data();
    data.forecast = { fullAt: f.fullAt.toISOString(), bytesPerDay: String(w.bytesPerDay) };
    data.warning = { level, limitBytes: String(w.limits[level] ?? 0n), horizonDays: pacing.horizonDays[level] };
    data.findings = (await this.opts.findings?.top(trx, w.tenantId, w.volumeId, 3)) ?? [];
    const type = TYPE_OF[level];
    return this.enqueue(trx, { eventKey: `${w.volumeId}:${type}:${now.toISOString()}`, type, audience: 'tenant', tenantId: w.tenantId, volumeId: w.volumeId, data });
  }
}
