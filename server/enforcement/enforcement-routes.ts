/** HTTP routes for enforcement: the "why am I frozen?" answer and admin freeze/unfreeze. */
import express, { type Router } from 'express';
import type { Knex } from 'knex';
import { requireRole } from '../http/auth-middleware.js';
import { actorOf, principalOf } from '../http/request-context.js';
import type { VolumeService } from '../volumes/volume-service.js';
import type { EnforcementService } from './enforcement-service.js';
import { enforcementView } from './enforcement-view.js';
import type { LayerStore } from './layer-store.js';

/** Router for /v1/volumes/{id}/enforcement, /freeze and /unfreeze. */
export function enforcementRoutes(db: Knex, layers: LayerStore, volumes: VolumeService, service: EnforcementService, hysteresis: number, publicUrl: string, storageLayer: boolean): Router {
  const r = express.Router();
  const view = async (req: express.Request) => enforcementView(db, layers, await volumes.get(principalOf(req), String(req.params.volumeId)), hysteresis, new Date(), publicUrl, storageLayer);
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
