/** HTTP route for `GET /v1/volumes/{id}/mount`: how to mount a volume. */
import express, { type Router } from 'express';
import { principalOf } from '../http/request-context.js';
import type { MountService } from './mount-service.js';

/** Router for mount instructions (every role; storage keys only for admins and the tenant's engineers). */
export function mountRoutes(service: MountService): Router {
  const r = express.Router();
  r.get('/v1/volumes/:volumeId/mount', async (req, res) => {
    const out = await service.instructions(principalOf(req), String(req.params.volumeId));
    // A secret must not stay in a browser, proxy or CLI cache; the rest may be revalidated.
    res.set('cache-control', out.secretsIncluded ? 'no-store' : 'private, no-cache');
    res.json(out);
  });
  return r;
}
