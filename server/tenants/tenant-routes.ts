/** HTTP routes for tenants. Bodies are already validated against the OpenAPI spec. */
import express, { type Router } from 'express';
import { requireRole } from '../http/auth-middleware.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import { actorOf, principalOf } from '../http/request-context.js';
import type { TenantService } from './tenant-service.js';
import type { Tenant } from './tenant-store.js';

/** The API shape of a tenant. */
export const presentTenant = (t: Tenant) => ({
  id: t.id,
  displayName: t.displayName,
  email: t.email,
  language: t.language,
  webhookUrl: t.webhookUrl,
  tier: t.tier,
  createdAt: t.createdAt.toISOString(),
});

/** Router for /v1/tenants. */
export function tenantRoutes(service: TenantService): Router {
  const r = express.Router();
  r.post('/v1/tenants', requireRole('admin', 'platform'), async (req, res) => {
    const { tenant, created } = await service.create(actorOf(req), req.body);
    res
      .status(created ? 201 : 200)
      .location(`/v1/tenants/${tenant.id}`)
      .json(presentTenant(tenant));
  });
  r.get('/v1/tenants', async (req, res) => {
    const limit = Number(req.query.limit ?? 100);
    const afterId = typeof req.query.cursor === 'string' ? decodeCursor(req.query.cursor) : undefined;
    const rows = await service.list(principalOf(req), { afterId, limit: limit + 1 });
    const page = rows.slice(0, limit);
    res.json({ items: page.map(presentTenant), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null });
  });
  r.get('/v1/tenants/:tenantId', async (req, res) => {
    res.json(presentTenant(await service.get(principalOf(req), String(req.params.tenantId))));
  });
  r.patch('/v1/tenants/:tenantId', async (req, res) => {
    res.json(presentTenant(await service.update(actorOf(req), principalOf(req), String(req.params.tenantId), req.body)));
  });
  return r;
}
