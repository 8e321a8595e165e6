/** HTTP routes for enforcement: the "why am I frozen?" answer and admin freeze/unfreeze. */
import express, { type Router } from 'express';
import { requireRole } from '../http/auth-middleware.js';
import { actorOf, principalOf } from '../http/request-context.js';
import type { EnforcementService } from './enforcement-service.js';

/** Router for /v1/volumes/{id}/enforcement, /freeze and /unfreeze. */
export function enforcementRoutes(service: EnforcementService): Router {
  const r = express.Router();
  const view = (req: express.Request) => service.view(principalOf(req), String(req.params.volumeId));
  r.get('/v1/volumes/:volumeId/enforcement', async (req, res) => {
    res.json(await view(req));
  });
  r.post('/v1/volumes/:volumeId/freeze', requireRole('admin'), async (req, res) => {
    await service.freeze(actorOf(req), principalOf(req), String(req.params.volumeId), req.body);
    res.json(await view(req));
  });
  r.post('/v1/volumes/:volumeId/unfreeze', requireRole('admin'), async (req, res) => {
    await service.unfreeze(actorOf(req), principalOf(req), String(req.params.volumeId), req.body);
    res.json(await view(req));
  });
  return r;
}
