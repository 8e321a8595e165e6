/** HTTP routes for /v1/tenants/{t}/channels (admin, platform). Bodies are validated against the OpenAPI spec. */
import express, { type Router } from 'express';
import { requireRole } from '../../http/auth-middleware.js';
import { actorOf, principalOf } from '../../http/request-context.js';
import type { Channel } from './channel.js';
import type { ChannelHint, ChannelService } from './channel-service.js';

/** The API shape of a channel: a hint instead of the sealed address and secret. */
export const presentChannel = (c: Channel) => {
  const hint = JSON.parse(c.hint) as ChannelHint;
  return {
    id: c.id,
    tenantId: c.tenantId,
    kind: c.kind,
    name: c.name,
    enabled: c.enabled,
    target: hint.target,
    secret: hint.secret,
    createdBy: c.createdBy,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
};

/** Router for channels. */
export function channelRoutes(service: ChannelService): Router {
  const r = express.Router();
  const base = '/v1/tenants/:tenantId/channels';
  const manage = requireRole('admin', 'platform');
  const tenant = (req: express.Request) => String(req.params.tenantId);
  r.get(base, manage, async (req, res) => {
    res.json({ items: (await service.list(principalOf(req), tenant(req))).map(presentChannel) });
  });
  r.post(base, manage, async (req, res) => {
    const c = await service.create(actorOf(req), principalOf(req), tenant(req), req.body);
    res.status(201).location(`/v1/tenants/${c.tenantId}/channels/${c.id}`).json(presentChannel(c));
  });
  r.get(`${base}/:channelId`, manage, async (req, res) => {
    res.json(presentChannel(await service.get(principalOf(req), tenant(req), String(req.params.channelId))));
  });
  r.patch(`${base}/:channelId`, manage, async (req, res) => {
    res.json(presentChannel(await service.update(actorOf(req), principalOf(req), tenant(req), String(req.params.channelId), req.body)));
  });
  r.delete(`${base}/:channelId`, manage, async (req, res) => {
    res.json(presentChannel(await service.remove(actorOf(req), principalOf(req), tenant(req), String(req.params.channelId))));
  });
  return r;
}
