/** HTTP routes for quota requests and auto-approval rules. */
import express, { type Router } from 'express';
import { requireRole } from '../http/auth-middleware.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import { actorOf, principalOf } from '../http/request-context.js';
import type { JsonLimits, QuotaRequest, RequestState } from './request-store.js';
import type { RequestService } from './request-service.js';
import type { StoredRule } from './rule-store.js';
import type { RuleService } from './rule-service.js';
import type { PreviewTarget, RulePreview, RulePreviewResult } from './rule-preview.js';

const nums = (l: JsonLimits | null) => l && Object.fromEntries(Object.entries(l).map(([k, v]) => [k, v === null ? null : Number(v)]));

/** The API shape of a request. */
export const presentRequest = (r: QuotaRequest) => ({
  id: r.id,
  volumeId: r.volumeId,
  directoryQuotaId: r.directoryQuotaId,
  // Lossy for non-UTF-8 names, as directory quotas' own `path`.
  path: r.directoryPath?.toString('utf8') ?? null,
  tenantId: r.tenantId,
  requestedBy: r.requestedBy,
  state: r.state,
  reason: r.reason,
  requested: nums(r.requested),
  granted: nums(r.granted),
  previous: nums(r.previous),
  until: r.until?.toISOString() ?? null,
  ruleId: r.ruleId,
  explanation: r.explanation,
  decidedBy: r.decidedBy,
  decidedAt: r.decidedAt?.toISOString() ?? null,
  comment: r.comment,
  revertedAt: r.revertedAt?.toISOString() ?? null,
  createdAt: r.createdAt.toISOString(),
});

const presentRule = (r: StoredRule) => ({
  id: r.id,
  tier: r.tier,
  kind: r.kind,
  params: r.params,
  position: r.position,
  enabled: r.enabled,
  description: r.description,
  createdBy: r.createdBy,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

/** The API shape of a rule preview: both verdicts of every request, and how many changed. */
const presentPreview = (p: RulePreviewResult) => {
  const verdict = (v: RulePreviewResult['items'][number]['now']) => ({ approve: v.approve, ruleId: v.approve ? v.ruleId : null, explanation: v.explanation });
  // A directory quota's path now (lossy for non-UTF-8 names, as the quota's own `path`).
  const target = (x: PreviewTarget) => (x.kind === 'volume' ? { kind: x.kind, quotaId: null, path: null } : { kind: x.kind, quotaId: x.quotaId, path: x.path.toString('utf8') });
  const changed = (i: RulePreviewResult['items'][number]) => i.now.approve !== i.after.approve || (i.now.approve && i.after.approve && i.now.ruleId !== i.after.ruleId);
  return {
    tier: p.tier,
    ruleId: p.ruleId,
    since: p.since.toISOString(),
    until: p.until.toISOString(),
    truncated: p.truncated,
    summary: {
      examined: p.items.length,
      wouldApprove: p.items.filter((i) => i.after.approve).length,
      byThisRule: p.items.filter((i) => i.byThisRule).length,
      newlyApproved: p.items.filter((i) => i.after.approve && !i.now.approve).length,
      noLongerApproved: p.items.filter((i) => i.now.approve && !i.after.approve).length,
    },
    items: p.items.map((i) => ({ request: presentRequest(i.request), target: target(i.target), now: verdict(i.now), after: verdict(i.after), byThisRule: i.byThisRule, changed: changed(i) })),
  };
};

/** Router for /v1/volumes/{id}/quota-requests, …/directory-quotas/{quotaId}/requests, /v1/quota-requests and /v1/quota-rules. */
export function requestRoutes(requests: RequestService, rules: RuleService, preview: RulePreview): Router {
  const r = express.Router();
  r.post('/v1/volumes/:volumeId/quota-requests/preview', requireRole('admin', 'engineer'), async (req, res) => {
    res.json(await requests.preview(principalOf(req), { volumeId: String(req.params.volumeId) }, req.body));
  });
  r.post('/v1/volumes/:volumeId/quota-requests', requireRole('admin', 'engineer'), async (req, res) => {
    const q = await requests.create(actorOf(req), principalOf(req), { volumeId: String(req.params.volumeId) }, req.body);
    res.status(201).location(`/v1/quota-requests/${q.id}`).json(presentRequest(q));
  });
  // A directory quota's owner (or an admin) asks through the same service, rules and admin queue.
  const dirPlace = (req: express.Request) => ({ volumeId: String(req.params.volumeId), directoryQuotaId: String(req.params.quotaId) });
  r.post('/v1/volumes/:volumeId/directory-quotas/:quotaId/requests/preview', requireRole('admin', 'engineer'), async (req, res) => {
    res.json(await requests.preview(principalOf(req), dirPlace(req), req.body));
  });
  r.post('/v1/volumes/:volumeId/directory-quotas/:quotaId/requests', requireRole('admin', 'engineer'), async (req, res) => {
    const q = await requests.create(actorOf(req), principalOf(req), dirPlace(req), req.body);
    res.status(201).location(`/v1/quota-requests/${q.id}`).json(presentRequest(q));
  });
  r.get('/v1/quota-requests', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = Number(q.limit ?? 100);
    const rows = await requests.list(principalOf(req), { state: q.state as RequestState | undefined, volumeId: q.volumeId, beforeId: q.cursor ? decodeCursor(q.cursor) : undefined, limit: limit + 1 });
    const page = rows.slice(0, limit);
    res.json({ items: page.map(presentRequest), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null });
  });
  r.get('/v1/quota-requests/:id', async (req, res) => {
    res.json(presentRequest(await requests.get(principalOf(req), String(req.params.id))));
  });
  r.post('/v1/quota-requests/:id/approve', requireRole('admin'), async (req, res) => {
    res.json(presentRequest(await requests.approve(actorOf(req), String(req.params.id), req.body ?? {})));
  });
  r.post('/v1/quota-requests/:id/deny', requireRole('admin'), async (req, res) => {
    res.json(presentRequest(await requests.deny(actorOf(req), String(req.params.id), req.body.reason)));
  });
  r.post('/v1/quota-requests/:id/cancel', async (req, res) => {
    res.json(presentRequest(await requests.cancel(actorOf(req), principalOf(req), String(req.params.id))));
  });

  r.get('/v1/quota-rules', requireRole('admin'), async (req, res) => {
    res.json({ items: (await rules.list(req.query.tier as string | undefined)).map(presentRule) });
  });
  r.post('/v1/quota-rules', requireRole('admin'), async (req, res) => {
    const { rule } = await rules.save(actorOf(req), req.body);
    res.status(201).location(`/v1/quota-rules/${rule.id}`).json(presentRule(rule));
  });
  // A dry run of a rule: judged against the tier's pending and recent requests, nothing saved.
  r.post('/v1/quota-rules/preview', requireRole('admin'), async (req, res) => {
    res.json(presentPreview(await preview.preview(principalOf(req), req.body.rule, req.body.replaces)));
  });
  r.get('/v1/quota-rules/:id', requireRole('admin'), async (req, res) => {
    res.json(presentRule(await rules.get(String(req.params.id))));
  });
  r.put('/v1/quota-rules/:id', requireRole('admin'), async (req, res) => {
    res.json(presentRule((await rules.save(actorOf(req), req.body, String(req.params.id))).rule));
  });
  r.delete('/v1/quota-rules/:id', requireRole('admin'), async (req, res) => {
    res.json(presentRule(await rules.remove(actorOf(req), String(req.params.id))));
  });
  return r;
}
