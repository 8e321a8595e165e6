/** HTTP routes for notices and their templates. */
import express, { type Router } from 'express';
import { requireRole } from '../http/auth-middleware.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import { actorOf, principalOf } from '../http/request-context.js';
import type { Language, NoticeType } from './notice.js';
import type { Delivery, StoredNotice } from './notification-store.js';
import type { NotificationService } from './notification-service.js';

const presentDelivery = (d: Delivery) => ({
  channel: d.channel,
  target: d.target,
  state: d.state,
  attempts: d.attempts,
  lastError: d.lastError,
  nextAttemptAt: d.state === 'pending' ? d.nextAttemptAt.toISOString() : null,
  deliveredAt: d.deliveredAt?.toISOString() ?? null,
});

const presentNotice = (n: StoredNotice & { deliveries: Delivery[] }) => ({
  id: n.id,
  type: n.type,
  version: n.version,
  audience: n.audience,
  tenantId: n.tenantId,
  volumeId: n.volumeId,
  language: n.language,
  createdAt: n.createdAt.toISOString(),
  data: n.data,
  deliveries: n.deliveries.map(presentDelivery),
});

/** Router for /v1/notifications and /v1/notification-templates. */
export function notificationRoutes(service: NotificationService): Router {
  const r = express.Router();
  r.get('/v1/notifications', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = Number(q.limit ?? 100);
    const rows = await service.list(principalOf(req), {
      volumeId: q.volumeId,
      type: q.type,
      audience: q.audience as 'tenant' | 'admins' | undefined,
      beforeId: q.cursor ? decodeCursor(q.cursor) : undefined,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    res.json({ items: page.map(presentNotice), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null });
  });
  r.get('/v1/notification-templates', requireRole('admin'), async (_req, res) => {
    res.json({ items: await service.templates() });
  });
  r.put('/v1/notification-templates/:type/:language', requireRole('admin'), async (req, res) => {
    const type = String(req.params.type) as NoticeType;
    const language = String(req.params.language) as Language;
    await service.putTemplate(actorOf(req), type, language, req.body);
    res.json((await service.templates()).find((t) => t.type === type && t.language === language));
  });
  r.delete('/v1/notification-templates/:type/:language', requireRole('admin'), async (req, res) => {
    const type = String(req.params.type) as NoticeType;
    const language = String(req.params.language) as Language;
    await service.resetTemplate(actorOf(req), type, language);
    res.json((await service.templates()).find((t) => t.type === type && t.language === language));
  });
  return r;
}
