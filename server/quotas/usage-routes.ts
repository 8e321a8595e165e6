/** HTTP routes for usage and its history. */
import express, { type Router } from 'express';
import { principalOf } from '../http/request-context.js';
import type { Resolution } from './usage-store.js';
import type { UsageService } from './usage-service.js';

const n = (x: bigint | null) => (x === null ? null : Number(x));

/** Router for /v1/volumes/{id}/usage and /usage/history. */
export function usageRoutes(service: UsageService): Router {
  const r = express.Router();
  r.get('/v1/volumes/:volumeId/usage', async (req, res) => {
    const u = await service.current(principalOf(req), String(req.params.volumeId));
    const hard = u.quota.hardBytes;
    res.json({
      usedBytes: Number(u.usedBytes),
      usedInodes: Number(u.usedInodes),
      source: u.source,
      readAt: u.readAt.toISOString(),
      state: u.state,
      pendingRequest: u.pendingRequest,
      whatYouCanDo: u.whatYouCanDo,
      percentOfHardBytes: hard ? Math.floor(Number((u.usedBytes * 10000n) / hard)) / 100 : null,
      limits: { softBytes: n(u.quota.softBytes), hardBytes: n(hard), softInodes: n(u.quota.softInodes), hardInodes: n(u.quota.hardInodes), graceSeconds: u.quota.graceSeconds },
      forecast: u.forecast && { fullAt: u.forecast.fullAt.toISOString(), secondsToFull: u.forecast.secondsToFull, bytesPerDay: u.forecast.bytesPerDay, samples: u.forecast.samples },
    });
  });
  r.get('/v1/volumes/:volumeId/usage/history', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const h = await service.history(principalOf(req), String(req.params.volumeId), { since: q.since, until: q.until, resolution: q.resolution as Resolution | undefined });
    res.json({
      volumeId: h.volumeId,
      since: h.since.toISOString(),
      until: h.until.toISOString(),
      samples: h.samples.map((s) => ({ at: s.at.toISOString(), bytes: Number(s.bytes), inodes: Number(s.inodes), resolution: s.resolution })),
    });
  });
  return r;
}
