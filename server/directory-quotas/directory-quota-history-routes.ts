/**
 * HTTP routes for a directory quota's usage history and forecast, in the shapes of the volume
 * endpoints (`/usage/history` and the `forecast` of `/usage`), and the same for JuiceFS 1.4 user
 * and group quotas under their own collections. Parameters are already validated against the
 * OpenAPI spec; engineers see only the quotas they own, as on every quota route.
 */
import express, { type Router } from 'express';
import type { Forecast } from '../quotas/forecast.js';
import type { Resolution } from '../quotas/sample-retention.js';
import { principalOf } from '../http/request-context.js';
import type { QuotaKind } from './directory-quota.js';
import type { DirectoryQuotaHistory, LimitForecasts } from './directory-quota-history.js';

/** A volume forecast's shape; an inode forecast names its rate `inodesPerDay`. */
const present = (f: Forecast | null, rate: 'bytesPerDay' | 'inodesPerDay') => f && { fullAt: f.fullAt.toISOString(), secondsToFull: f.secondsToFull, [rate]: f.bytesPerDay, samples: f.samples };
const presentLimits = (l: LimitForecasts, rate: 'bytesPerDay' | 'inodesPerDay') => ({ soft: present(l.soft, rate), hard: present(l.hard, rate) });

/** The path's ids (the base is built per kind, so express cannot infer its parameters). */
const ids = (req: express.Request) => [String(req.params.volumeId), String(req.params.quotaId)] as const;

/** Each kind's collection, as its other routes name it (directory-quota-routes.ts). */
const collections: Record<QuotaKind, string> = { dir: 'directory-quotas', user: 'user-quotas', group: 'group-quotas' };

/** Router for `/v1/volumes/{volumeId}/{directory,user,group}-quotas/{quotaId}/history` and `/forecast`. */
export function directoryQuotaHistoryRoutes(history: DirectoryQuotaHistory): Router {
  const r = express.Router();
  for (const [kind, collection] of Object.entries(collections) as [QuotaKind, string][]) kindRoutes(r, history, kind, `/v1/volumes/:volumeId/${collection}/:quotaId`);
  return r;
}

/** One kind's two routes; an id of another kind is 404. */
function kindRoutes(r: Router, history: DirectoryQuotaHistory, kind: QuotaKind, base: string): void {
  r.get(`${base}/history`, async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const [volumeId, quotaId] = ids(req);
    const h = await history.history(principalOf(req), volumeId, quotaId, { since: q.since, until: q.until, resolution: q.resolution as Resolution | undefined }, kind);
    res.json({
      quotaId: h.quotaId,
      volumeId: h.volumeId,
      since: h.since.toISOString(),
      until: h.until.toISOString(),
      samples: h.samples.map((s) => ({ at: s.at.toISOString(), bytes: Number(s.bytes), inodes: Number(s.inodes), resolution: s.resolution })),
    });
  });

  r.get(`${base}/forecast`, async (req, res) => {
    const [volumeId, quotaId] = ids(req);
    const f = await history.forecast(principalOf(req), volumeId, quotaId, kind);
    res.json({
      quotaId: f.quotaId,
      volumeId: f.volumeId,
      at: f.at.toISOString(),
      windowDays: f.windowDays,
      usage: f.usage && { usedBytes: Number(f.usage.bytes), usedInodes: Number(f.usage.inodes), readAt: f.usage.at.toISOString() },
      bytes: presentLimits(f.bytes, 'bytesPerDay'),
      inodes: presentLimits(f.inodes, 'inodesPerDay'),
    });
  });
}
