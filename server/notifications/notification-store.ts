/** PostgreSQL store for the notification outbox, its deliveries and template overrides. */
import type { Db } from '../db/database.js';
import type { Language, NewNotice, NoticeData, NoticeType } from './notice.js';
import type { Template } from './templates.js';

/** Delivery channels. */
export type Channel = 'webhook' | 'email';

/** One notice as stored. */
export interface StoredNotice extends NewNotice {
  id: string;
  version: number;
  language: Language;
  createdAt: Date;
}

/** One channel's delivery of a notice. */
export interface Delivery {
  notificationId: string;
  channel: Channel;
  target: string;
  state: 'pending' | 'sending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  deliveredAt: Date | null;
}

const noticeFromRow = (r: Record<string, unknown>): StoredNotice => ({
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

const deliveryFromRow = (r: Record<string, unknown>): Delivery => ({
  notificationId: r.notification_id as string,
  channel: r.channel as Channel,
  target: r.target as string,
  state: r.state as Delivery['state'],
  attempts: r.attempts as number,
  nextAttemptAt: r.next_attempt_at as Date,
  lastError: (r.last_error as string | null) ?? null,
  deliveredAt: (r.delivered_at as Date | null) ?? null,
});

/** Inserts a notice unless its event key exists; true when inserted. */
export async function insertNotice(db: Db, n: NewNotice & { id: string; version: number; language: Language }, targets: { channel: Channel; target: string }[]): Promise<boolean> {
  const rows = (await db('notifications')
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
    await db('notification_deliveries').insert(targets.map((t) => ({ notification_id: n.id, channel: t.channel, target: t.target, state: 'pending' })));
  }
  return true;
}

/**
 * Claims up to `limit` due deliveries for `lockMs`: pending ones whose time has come, and
 * sending ones whose claimant died (lock expired). SKIP LOCKED lets several dispatchers share
 * the table without ever claiming the same row at once.
 */
export async function claimDue(db: Db, limit: number, lockMs: number): Promise<{ notice: StoredNotice; delivery: Delivery }[]> {
  const r = await db.raw(
    `UPDATE notification_deliveries d
        SET state = 'sending', attempts = d.attempts + 1, locked_until = now() + make_interval(secs => ?)
       FROM (SELECT notification_id, channel FROM notification_deliveries
              WHERE (state = 'pending' AND next_attempt_at <= now()) OR (state = 'sending' AND locked_until < now())
              ORDER BY next_attempt_at, notification_id LIMIT ? FOR UPDATE SKIP LOCKED) due
      WHERE d.notification_id = due.notification_id AND d.channel = due.channel
      RETURNING d.*`,
    [lockMs / 1000, limit],
  );
  const deliveries = ((r as { rows: Record<string, unknown>[] }).rows ?? []).map(deliveryFromRow);
  if (!deliveries.length) return [];
  const notices = (await db('notifications').whereIn('id', [...new Set(deliveries.map((d) => d.notificationId))])) as Record<string, unknown>[];
  const byId = new Map(notices.map((n) => [n.id as string, noticeFromRow(n)]));
  return deliveries.map((delivery) => ({ notice: byId.get(delivery.notificationId)!, delivery }));
}

/** Records a successful delivery. */
export async function markDelivered(db: Db, id: string, channel: Channel): Promise<void> {
  await db('notification_deliveries').where({ notification_id: id, channel }).update({ state: 'delivered', delivered_at: db.fn.now(), locked_until: null, last_error: null });
}

/** Records a failed attempt: retried at `retryAt`, or given up (`failed`) when it is null. */
export async function markAttemptFailed(db: Db, id: string, channel: Channel, error: string, retryAt: Date | null): Promise<void> {
  await db('notification_deliveries')
    .where({ notification_id: id, channel })
    .update({ state: retryAt ? 'pending' : 'failed', next_attempt_at: retryAt ?? db.fn.now(), locked_until: null, last_error: error.slice(0, 1000) });
}

/** Filters of {@link listNotices}; newest first, `beforeId` pages backwards. */
export interface NoticeFilter {
  tenantIds?: readonly string[];
  audience?: 'tenant' | 'admins';
  volumeId?: string;
  type?: string;
  beforeId?: string;
  limit: number;
}

/** A page of notices with their deliveries. */
export async function listNotices(db: Db, f: NoticeFilter): Promise<(StoredNotice & { deliveries: Delivery[] })[]> {
  const q = db('notifications').orderBy('id', 'desc').limit(f.limit);
  if (f.tenantIds) q.whereIn('tenant_id', [...f.tenantIds]);
  if (f.audience) q.where('audience', f.audience);
  if (f.volumeId) q.where('volume_id', f.volumeId);
  if (f.type) q.where('type', f.type);
  if (f.beforeId) q.where('id', '<', f.beforeId);
  const notices = ((await q) as Record<string, unknown>[]).map(noticeFromRow);
  const ds = notices.length
    ? (
        (await db('notification_deliveries').whereIn(
          'notification_id',
          notices.map((n) => n.id),
        )) as Record<string, unknown>[]
      ).map(deliveryFromRow)
    : [];
  return notices.map((n) => ({ ...n, deliveries: ds.filter((d) => d.notificationId === n.id).sort((a, b) => a.channel.localeCompare(b.channel)) }));
}

/** An admin's override of a template. */
export interface TemplateOverride extends Template {
  type: NoticeType;
  language: Language;
  updatedBy: string;
  updatedAt: Date;
}

/** Every stored override. */
export async function listTemplateOverrides(db: Db): Promise<TemplateOverride[]> {
  const rows = (await db('notification_templates').orderBy(['type', 'language'])) as Record<string, unknown>[];
  return rows.map((r) => ({
    type: r.type as NoticeType,
    language: r.language as Language,
    subject: r.subject as string,
    text: r.text as string,
    html: r.html as string,
    updatedBy: r.updated_by as string,
    updatedAt: r.updated_at as Date,
  }));
}

/** Writes (or replaces) an override; returns the previous one for the audit log. */
export async function upsertTemplate(db: Db, t: Omit<TemplateOverride, 'updatedAt'>): Promise<void> {
  await db('notification_templates')
    .insert({ type: t.type, language: t.language, subject: t.subject, text: t.text, html: t.html, updated_by: t.updatedBy, updated_at: db.fn.now() })
    .onConflict(['type', 'language'])
    .merge();
}

/** Removes an override (back to the built-in template); true if one existed. */
export async function deleteTemplate(db: Db, type: NoticeType, language: Language): Promise<boolean> {
  return (await db('notification_templates').where({ type, language }).delete()) > 0;
}
