/**
 * HTTP routes for directory quotas inside volumes. Bodies and parameters are already validated
 * against the OpenAPI spec. Engineers see (and only see) the quotas they own; changes are for
 * admins and the platform; taking over a discovered quota and repairing a record are for admins.
 */
import express, { type Router } from 'express';
import { requireRole } from '../http/auth-middleware.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import { actorOf, principalOf } from '../http/request-context.js';
import type { DirectoryQuotaMaintenance } from './directory-quota-maintenance.js';
import type { DirectoryQuotaService } from './directory-quota-service.js';
import type { QuotaKind } from './directory-quota.js';

const base = '/v1/volumes/:volumeId/directory-quotas';
const ids = (req: express.Request) => [String(req.params.volumeId), String(req.params.quotaId)] as const;

/** Router for `/v1/volumes/{volumeId}/directory-quotas…`. */
export function directoryQuotaRoutes(service: DirectoryQuotaService, maintenance: DirectoryQuotaMaintenance): Router {
  const r = express.Router();
  quotaRoutes(r, service, maintenance);
  for (const kind of ['user', 'group'] as const) ownerRoutes(r, service, kind);
  actionRoutes(r, service, maintenance);
  return r;
}

/** One page of a volume's quotas of one kind, with the cursor to the next. */
async function listPage(service: DirectoryQuotaService, req: express.Request, res: express.Response, kind?: QuotaKind): Promise<void> {
  const limit = Number(req.query.limit ?? 100);
  const afterId = typeof req.query.cursor === 'string' ? decodeCursor(req.query.cursor) : undefined;
  const rows = await service.list(principalOf(req), String(req.params.volumeId), { afterId, limit: limit + 1 }, kind);
  const page = rows.slice(0, limit);
  res.json({ items: page, nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null });
}

/** Directory quotas: list, create, discover, read, change, delete. */
function quotaRoutes(r: Router, service: DirectoryQuotaService, maintenance: DirectoryQuotaMaintenance): void {
  r.get(base, (req, res) => listPage(service, req, res));

  r.post(base, requireRole('admin', 'platform'), async (req, res) => {
    res.status(201).json(await service.create(actorOf(req), principalOf(req), String(req.params.volumeId), req.body));
  });

  // Before `/:quotaId`, so `discover` is never taken for an id.
  r.post(`${base}/discover`, requireRole('admin', 'platform'), async (req, res) => {
    res.json({ items: await maintenance.discover(actorOf(req), principalOf(req), String(req.params.volumeId)) });
  });

  r.get(`${base}/:quotaId`, async (req, res) => {
    const [volumeId, quotaId] = ids(req);
    res.json(await service.get(principalOf(req), volumeId, quotaId));
  });

  r.patch(`${base}/:quotaId`, requireRole('admin', 'platform'), async (req, res) => {
    const [volumeId, quotaId] = ids(req);
    res.json(await service.update(actorOf(req), principalOf(req), volumeId, quotaId, req.body));
  });

  r.delete(`${base}/:quotaId`, requireRole('admin', 'platform'), async (req, res) => {
    const [volumeId, quotaId] = ids(req);
    res.json(await service.delete(actorOf(req), principalOf(req), volumeId, quotaId));
  });
}

/** JuiceFS 1.4 user and group quotas: the same shape, keyed by uid/gid. */
function ownerRoutes(r: Router, service: DirectoryQuotaService, kind: 'user' | 'group'): void {
  const owners = `/v1/volumes/:volumeId/${kind}-quotas`;
  r.get(owners, (req, res) => listPage(service, req, res, kind));
  r.post(owners, requireRole('admin', 'platform'), async (req, res) => {
    const { uid, gid, ...rest } = req.body as { uid?: number; gid?: number };
    res.status(201).json(await service.createOwner(actorOf(req), principalOf(req), String(req.params.volumeId), kind, { ...rest, id: (kind === 'user' ? uid : gid)! }));
  });
  r.get(`${owners}/:quotaId`, async (req, res) => {
    const [volumeId, quotaId] = ids(req);
    res.json(await service.get(principalOf(req), volumeId, quotaId, kind));
  });
  r.patch(`${owners}/:quotaId`, requireRole('admin', 'platform'), async (req, res) => {
    const [volumeId, quotaId] = ids(req);
    res.json(await service.update(actorOf(req), principalOf(req), volumeId, quotaId, req.body, kind));
  });
  r.delete(`${owners}/:quotaId`, requireRole('admin', 'platform'), async (req, res) => {
    const [volumeId, quotaId] = ids(req);
    res.json(await service.delete(actorOf(req), principalOf(req), volumeId, quotaId, kind));
  });
}

/** Actions on one directory quota: freeze, unfreeze, check (and repair). */
function actionRoutes(r: Router, service: DirectoryQuotaService, maintenance: DirectoryQuotaMaintenance): void {
  r.post(`${base}/:quotaId/freeze`, requireRole('admin'), async (req, res) => {
    const [volumeId, quotaId] = ids(req);
    res.json(await service.freeze(actorOf(req), principalOf(req), volumeId, quotaId, req.body));
  });

  r.post(`${base}/:quotaId/unfreeze`, requireRole('admin'), async (req, res) => {
    const [volumeId, quotaId] = ids(req);
    res.json(await service.freeze(actorOf(req), principalOf(req), volumeId, quotaId, { reason: req.body.reason, unfreeze: true }));
  });

  r.post(`${base}/:quotaId/check`, requireRole('admin', 'platform'), async (req, res) => {
    const [volumeId, quotaId] = ids(req);
    res.json(await maintenance.check(actorOf(req), principalOf(req), volumeId, quotaId, req.body?.repair === true));
  });
}
