/**
 * The PostgreSQL {@link NotificationStore} over `notifications`, `notification_deliveries`,
 * `notification_templates`, `tenant_digests` and `forecast_warnings`. Row mapping stays private
 * to this file.
 */
import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit-log.js';
import { inTransaction, type Db } from '../db/database.js';
import type { ChannelKind } from './channels/channel.js';
import { emptyMemory, type WarningMemory } from './forecast-pacing.js';
import type { Language, NewNotice, NoticeData, NoticeType } from './notice.js';
import type { Delivery, DeliveryTarget, DueDelivery, NewStoredNotice, NoticeFilter, NotificationStore, NotificationUnitOfWork, StoredNotice, TemplateOverride } from './notification-store.js';

type Row = Record<string, unknown>;

const noticeFromRow = (r: Row): StoredNotice => ({
  id: r.id as string,
  eventKey: r.event_key as string,
  type: r.type as NoticeType,
  version: r.version as number,
  audience: r.audience as NewNotice['audience'],
  tenantId: r.tenant_id as string,
  volumeId: r.volume_id as string,
  language: r.language as Language,
  data: r.data as NoticeData,
  createdAt: r.created_at as Date,
});

const deliveryFromRow = (r: Row): Delivery => ({
  notificationId: r.notification_id as string,
  channel: r.channel as ChannelKind,
  target: r.target as string,
  state: r.state as Delivery['state'],
  attempts: r.attempts as number,
  nextAttemptAt: r.next_attempt_at as Date,
  lastError: (r.last_error as string | null) ?? null,
  deliveredAt: (r.delivered_at as Date | null) ?? null,
});

const templateFromRow = (r: Row): TemplateOverride => ({
  type: r.type as NoticeType,
  language: r.language as Language,
  subject: r.subject as string,
  text: r.text as string,
  html: r.html as string,
  updatedBy: r.updated_by as string,
  updatedAt: r.updated_at as Date,
});

const key = (id: string, channel: string, target: string) => ({ notification_id: id, channel, target });

/** {@link NotificationStore} over PostgreSQL; `db` is the pool or, inside `transaction`, the transaction. */
export class KnexNotificationStore implements NotificationStore {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: (uow: NotificationUnitOfWork) => Promise<T>): Promise<T> {
    return inTransaction(this.db as Knex, (trx) => fn(this.joined(trx)));
  }

  joined(trx: Db): NotificationUnitOfWork {
    return { store: new KnexNotificationStore(trx), audit: (actor, e) => recordAudit(trx, actor, e), trx };
  }

  async insertNotice(n: NewStoredNotice, targets: readonly DeliveryTarget[]): Promise<boolean> {
    const rows = (await this.db('notifications')
      .insert({
        id: n.id,
        event_key: n.eventKey,
        type: n.type,
        version: n.version,
        audience: n.audience,
        tenant_id: n.tenantId,
        volume_id: n.volumeId,
        language: n.language,
        data: JSON.stringify(n.data),
      })
      .onConflict('event_key')
      .ignore()
      .returning('id')) as { id: string }[];
    if (!rows.length) return false;
    if (targets.length) {
      await this.db('notification_deliveries')
        .insert(targets.map((t) => ({ notification_id: n.id, channel: t.channel, target: t.target, state: 'pending' })))
        .onConflict(['notification_id', 'channel', 'target'])
        .ignore();
    }
    return true;
  }

  async claimDue(limit: number, lockMs: number): Promise<DueDelivery[]> {
    // SKIP LOCKED lets several dispatchers share the table without ever claiming the same row at once.
    const r = await this.db.raw(
      `UPDATE notification_deliveries d
          SET state = 'sending', attempts = d.attempts + 1, locked_until = now() + make_interval(secs => ?)
         FROM (SELECT notification_id, channel, target FROM notification_deliveries
                WHERE (state = 'pending' AND next_attempt_at <= now()) OR (state = 'sending' AND locked_until < now())
                ORDER BY next_attempt_at, notification_id LIMIT ? FOR UPDATE SKIP LOCKED) due
        WHERE d.notification_id = due.notification_id AND d.channel = due.channel AND d.target = due.target
        RETURNING d.*`,
      [lockMs / 1000, limit],
    );
    const deliveries = ((r as { rows: Row[] }).rows ?? []).map(deliveryFromRow);
    if (!deliveries.length) return [];
    const notices = (await this.db('notifications').whereIn('id', [...new Set(deliveries.map((d) => d.notificationId))])) as Row[];
    const byId = new Map(notices.map((n) => [n.id as string, noticeFromRow(n)]));
    return deliveries.map((delivery) => ({ notice: byId.get(delivery.notificationId)!, delivery }));
  }

  async markSent(id: string, channel: string, target: string): Promise<void> {
    await this.db('notification_deliveries')
      .where(key(id, channel, target))
      .update({ state: 'delivered', delivered_at: this.db.fn.now(), locked_until: null, last_error: null });
  }

  async markFailed(id: string, channel: string, target: string, error: string, retryAt: Date | null): Promise<void> {
    await this.db('notification_deliveries')
      .where(key(id, channel, target))
      .update({ state: retryAt ? 'pending' : 'failed', next_attempt_at: retryAt ?? this.db.fn.now(), locked_until: null, last_error: error.slice(0, 1000) });
  }

  async markDeferred(id: string, channel: string, target: string, at: Date): Promise<void> {
    await this.db('notification_deliveries')
      .where(key(id, channel, target))
      .update({ state: 'pending', next_attempt_at: at, locked_until: null, attempts: this.db.raw('GREATEST(attempts - 1, 0)') });
  }

  async listNotices(f: NoticeFilter): Promise<(StoredNotice & { deliveries: Delivery[] })[]> {
    const q = this.db('notifications').orderBy('id', 'desc').limit(f.limit);
    if (f.tenantIds) q.whereIn('tenant_id', [...f.tenantIds]);
    if (f.audience) q.where('audience', f.audience);
    if (f.volumeId) q.where('volume_id', f.volumeId);
    if (f.type) q.where('type', f.type);
    if (f.beforeId) q.where('id', '<', f.beforeId);
    const notices = ((await q) as Row[]).map(noticeFromRow);
    if (!notices.length) return [];
    const rows = (await this.db('notification_deliveries').whereIn(
      'notification_id',
      notices.map((n) => n.id),
    )) as Row[];
    const ds = rows.map(deliveryFromRow);
    return notices.map((n) => ({ ...n, deliveries: ds.filter((d) => d.notificationId === n.id).sort((a, b) => a.channel.localeCompare(b.channel)) }));
  }

  async listTemplateOverrides(): Promise<TemplateOverride[]> {
    return ((await this.db('notification_templates').orderBy(['type', 'language'])) as Row[]).map(templateFromRow);
  }

  async upsertTemplate(t: Omit<TemplateOverride, 'updatedAt'>): Promise<void> {
    await this.db('notification_templates')
      .insert({ type: t.type, language: t.language, subject: t.subject, text: t.text, html: t.html, updated_by: t.updatedBy, updated_at: this.db.fn.now() })
      .onConflict(['type', 'language'])
      .merge();
  }

  async deleteTemplate(type: NoticeType, language: Language): Promise<boolean> {
    return (await this.db('notification_templates').where({ type, language }).delete()) > 0;
  }

  async claimDigestWeek(tenantId: string, week: string): Promise<boolean> {
    const rows = (await this.db('tenant_digests').insert({ tenant_id: tenantId, week }).onConflict(['tenant_id', 'week']).ignore().returning('week')) as unknown[];
    return rows.length > 0;
  }

  async lockWarningMemory(tenantId: string, volumeId: string): Promise<WarningMemory> {
    const row = (await this.db('forecast_warnings').where({ tenant_id: tenantId, volume_id: volumeId }).forUpdate().first()) as { memory: WarningMemory } | undefined;
    return row ? { ...emptyMemory(), ...row.memory } : emptyMemory();
  }

  async saveWarningMemory(tenantId: string, volumeId: string, memory: WarningMemory): Promise<void> {
    await this.db('forecast_warnings')
      .insert({ volume_id: volumeId, tenant_id: tenantId, memory: JSON.stringify(memory), updated_at: this.db.fn.now() })
      .onConflict('volume_id')
      .merge(['memory', 'updated_at']);
  }
}
