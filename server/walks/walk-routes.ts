/** HTTP routes for usage, directory walks and their results. */
import express, { type Router } from 'express';
import { requireRole } from '../http/auth-middleware.js';
import { actorOf, principalOf } from '../http/request-context.js';
import type { DirectoryUsage } from '../meta/volume-metadata.js';
import type { WalkService } from './walk-service.js';
import type { DirectorySort, Walk } from './walk-store.js';

const presentWalk = (s: Walk) => ({
  id: s.id,
  volumeId: s.volumeId,
  state: s.state,
  keysRead: s.keysRead,
  result: s.result,
  error: s.error,
  createdAt: s.createdAt.toISOString(),
  startedAt: s.startedAt?.toISOString() ?? null,
  finishedAt: s.finishedAt?.toISOString() ?? null,
});

const presentDirectory = (d: DirectoryUsage) => ({
  path: d.path,
  pathBase64: d.pathBase64,
  inode: Number(d.inode),
  depth: d.depth,
  bytes: Number(d.bytes),
  logicalBytes: Number(d.logicalBytes),
  inodes: Number(d.inodes),
  files: Number(d.files),
  dirs: Number(d.dirs),
  directBytes: Number(d.directBytes),
  directInodes: Number(d.directInodes),
});

/** Router for /v1/volumes/{id}/directories and /walks (usage lives in `quotas/`). */
export function walkRoutes(service: WalkService): Router {
  const r = express.Router();
  r.get('/v1/volumes/:volumeId/directories', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const out = await service.directories(principalOf(req), String(req.params.volumeId), {
      maxDepth: Number(q.depth ?? 2),
      limit: Number(q.limit ?? 50),
      sort: (q.sort as DirectorySort | undefined) ?? 'bytes',
    });
    res.json({ walk: out.walk && presentWalk(out.walk), items: out.items.map(presentDirectory) });
  });
  r.post('/v1/volumes/:volumeId/walks', requireRole('admin'), async (req, res) => {
    const walk = await service.start(actorOf(req), principalOf(req), String(req.params.volumeId));
    res.status(202).location(`/v1/volumes/${walk.volumeId}/walks/${walk.id}`).json(presentWalk(walk));
  });
  r.get('/v1/volumes/:volumeId/walks/:walkId', async (req, res) => {
    res.json(presentWalk(await service.get(principalOf(req), String(req.params.volumeId), String(req.params.walkId))));
  });
  return r;
}
