/**
 * Delivery rows keyed by notice, channel kind and target: a tenant may have several chat
 * channels of one kind, each its own delivery (see migrations/20261201000500_create_channels.ts).
 * The dispatcher records every outcome through these.
 */
import type { Db } from '../db/database.js';
import type { ChannelKind } from './channels/channel.js';

/** Adds deliveries to a notice that was just inserted. */
export async function insertDeliveries(db: Db, notificationId: string, targets: { channel: ChannelKind; target: string }[]): Promise<void> {
  if (!targets.length) return;
  await db('notification_deliveries')
    .insert(targets.map((t) => ({ notification_id: notificationId, channel: t.channel, target: t.target, state: 'pending' })))
    .onConflict(['notification_id', 'channel', 'target'])
    .ignore();
}

const key = (id: string, channel: string, target: string) => ({ notification_id: id, channel, target });

/** Records a successful delivery. */
export async function markSent(db: Db, id: string, channel: string, target: string): Promise<void> {
  await db('notification_deliveries')
    .where(key(id, channel, target))
    .update({ state: 'delivered', delivered_at: db.fn.now(), locked_until: null, last_error: null });
}

/** Records a failed attempt: retried at `retryAt`, or given up (`failed`) when it is null. */
export async function markFailed(db: Db, id: string, channel: string, target: string, error: string, retryAt: Date | null): Promise<void> {
  await db('notification_deliveries')
    .where(key(id, channel, target))
    .update({ state: retryAt ? 'pending' : 'failed', next_attempt_at: retryAt ?? db.fn.now(), locked_until: null, last_error: error.slice(0, 1000) });
}

/** Puts a claimed delivery back, untried, until `at` (a vendor's rate limit is not a failure). */
export async function markDeferred(db: Db, id: string, channel: string, target: string, at: Date): Promise<void> {
  await db('notification_deliveries')
    .where(key(id, channel, target))
    .update({ state: 'pending', next_attempt_at: at, locked_until: null, attempts: db.raw('GREATEST(attempts - 1, 0)') });
}
