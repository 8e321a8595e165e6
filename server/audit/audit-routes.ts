/** `GET /v1/audit` (admin): the audit log with filters, newest first, cursor-paginated. */
import express, { type Router } from 'express';
import { requireRole } from '../http/auth-middleware.js';
import { decodeSerialCursor, encodeCursor } from '../http/cursor.js';
import type { AuditEntityType } from './audit-log.js';
import type { AuditStore } from './audit-store.js';

/** Router for the audit log. */
export function auditRoutes(store: AuditStore): Router {
  const r = express.Router();
  r.get('/v1/audit', requireRole('admin'), async (req, res) => {
    const q = req.query as Record<string, string | number | undefined>;
    const limit = Number(q.limit ?? 100);
    const beforeId = typeof q.cursor === 'string' ? decodeSerialCursor(q.cursor) : undefined;
    const rows = await store.list({
      tenantId: q.tenantId as string | undefined,
      // The spec's enum has checked it (the same list as `AuditEntityType`).
      entityType: q.entityType as AuditEntityType | undefined,
      entityId: q.entityId as string | undefined,
      action: q.action as string | undefined,
      actor: q.actor as string | undefined,
      since: q.since ? new Date(String(q.since)) : undefined,
      until: q.until ? new Date(String(q.until)) : undefined,
      beforeId,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    res.json({
      items: page.map((e) => ({ ...e, at: e.at.toISOString() })),
      nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null,
    });
  });
  return r;
}
