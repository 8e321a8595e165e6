/** HTTP routes: a volume's insights, and the findings rules' settings (admin). */
import express, { type Router } from 'express';
import { requireRole } from '../http/auth-middleware.js';
import { actorOf, principalOf } from '../http/request-context.js';
import type { DescribedFinding, InsightService } from './insight-service.js';
import type { RuleId, RuleSetting } from './insight-rules.js';
import type { InsightDirectory, InsightWalk } from './insight-store.js';

const presentWalk = (w: InsightWalk) => ({
  walkId: w.walkId,
  walkedAt: w.walkedAt.toISOString(),
  bytes: Number(w.bytes),
  files: Number(w.files),
  inodes: Number(w.inodes),
  trashBytes: Number(w.trashBytes),
  reclaimableBytes: Number(w.reclaimableBytes),
});

const presentFinding = (f: DescribedFinding) => ({
  rule: f.rule,
  title: f.title,
  suggestion: f.suggestion,
  paths: f.paths,
  bytes: Number(f.bytes),
  files: Number(f.files),
  reclaimableBytes: Number(f.reclaimableBytes),
  details: f.details,
});

const presentDirectory = (d: InsightDirectory) => ({
  path: d.path,
  pathBase64: d.pathBase64,
  depth: d.depth,
  bytes: Number(d.bytes),
  files: Number(d.files),
  profile: d.profile && {
    ageBytes: d.profile.ageBytes,
    ageFiles: d.profile.ageFiles,
    sizeBytes: d.profile.sizeBytes,
    sizeFiles: d.profile.sizeFiles,
    types: d.profile.types.slice(0, 10),
    lastModifiedAt: d.profile.newestMtime > 0 ? new Date(d.profile.newestMtime * 1000).toISOString() : null,
  },
});

const presentRule = (s: RuleSetting) => ({ rule: s.rule, enabled: s.enabled, params: s.params });

/** Router for /v1/volumes/{id}/insights and /v1/insights/rules. */
export function insightRoutes(service: InsightService): Router {
  const r = express.Router();
  r.get('/v1/volumes/:volumeId/insights', async (req, res) => {
    const history = Number((req.query as Record<string, unknown>).history ?? 10);
    const out = await service.insights(principalOf(req), String(req.params.volumeId), { history });
    res.json({
      volumeId: out.volumeId,
      language: out.language,
      walk: out.walk && { ...presentWalk(out.walk), ...out.walk.summary },
      findings: out.findings.map(presentFinding),
      directories: out.directories.map(presentDirectory),
      comparison: out.comparison && {
        previous: presentWalk(out.comparison.previous),
        bytesDelta: Number(out.comparison.bytesDelta),
        filesDelta: Number(out.comparison.filesDelta),
        summary: out.comparison.summary,
        growth: out.comparison.growth.map((g) => ({ path: g.path, bytesDelta: Number(g.bytesDelta), filesDelta: Number(g.filesDelta) })),
      },
      history: out.history.map((w) => ({ ...presentWalk(w), findings: w.findings })),
    });
  });
  r.get('/v1/insights/rules', requireRole('admin', 'platform'), async (_req, res) => {
    res.json({ items: (await service.rules()).map(presentRule) });
  });
  r.patch('/v1/insights/rules/:rule', requireRole('admin'), async (req, res) => {
    const body = req.body as { enabled?: boolean; params?: Record<string, number> };
    res.json(presentRule(await service.updateRule(actorOf(req), String(req.params.rule) as RuleId, body)));
  });
  return r;
}
