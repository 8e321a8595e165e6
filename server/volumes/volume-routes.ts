/** HTTP routes for volumes. Bodies and parameters are already validated against the OpenAPI spec. */
import express, { type RequestHandler, type Router } from 'express';
import { requireRole } from '../http/auth-middleware.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import { replayOrThrow, withIdempotencyKey } from '../http/idempotency.js';
import type { IdempotencyStore } from '../http/idempotency-store.js';
import { actorOf, principalOf } from '../http/request-context.js';
import type { FleetQuery, FleetRow, FleetSort, FleetState } from './fleet-read-model.js';
import { presentVolume, type VolumeState } from './volume.js';
import type { VolumePurger } from './volume-purger.js';
import type { VolumeService } from './volume-service.js';

/**
 * Router for volume routes. `afterCreate` runs once a new volume is active: enforcement reads its
 * counters at once, so its usage and enforcement answers are real from the first minute instead
 * of "unknown" until the next counters pass. A failure there is the pass's to retry.
 */
export interface VolumeRouteDeps {
  service: VolumeService;
  purger: VolumePurger;
  /** Where `Idempotency-Key`s of creates are kept. */
  idempotency: IdempotencyStore;
  /** The admin's fleet table (a read model over volumes, states, readings and walks). */
  fleet: (q: FleetQuery) => Promise<{ items: FleetRow[]; total: number }>;
  afterCreate: (volumeId: string) => Promise<unknown>;
}

/** Router for volume routes (see {@link VolumeRouteDeps}). */
export function volumeRoutes(deps: VolumeRouteDeps): Router {
  const { service, purger } = deps;
  const r = express.Router();
  r.post('/v1/tenants/:tenantId/volumes', requireRole('admin', 'platform'), createVolume(deps));
  r.get('/v1/volumes', listVolumes(service));
  // The admin's fleet table: sorted and filtered in PostgreSQL (a read model), paged by offset.
  r.get('/v1/fleet', requireRole('admin', 'platform'), fleetTable(deps.fleet));

  r.get('/v1/volumes/:volumeId', async (req, res) => {
    res.json(presentVolume(await service.get(principalOf(req), String(req.params.volumeId))));
  });

  r.delete('/v1/volumes/:volumeId', requireRole('admin'), async (req, res) => {
    res.json(presentVolume(await service.delete(actorOf(req), String(req.params.volumeId))));
  });

  r.post('/v1/volumes/:volumeId/purge', requireRole('admin'), async (req, res) => {
    res.json(presentVolume(await purger.purge(actorOf(req), principalOf(req), String(req.params.volumeId), req.body.confirm)));
  });
  return r;
}

/** `POST /v1/tenants/{tenantId}/volumes`: create (or replay by `Idempotency-Key`), then `afterCreate`. */
function createVolume({ service, idempotency, afterCreate }: VolumeRouteDeps): RequestHandler {
  return async (req, res) => {
    const actor = actorOf(req);
    const tenantId = String(req.params.tenantId);
    // New storage keys go to this response only: never into the idempotency store, logs or audit.
    let credentials: { accessKey: string; secretKey: string } | undefined;
    const run = async () => {
      const r = await service.create(actor, tenantId, req.body);
      credentials = r.credentials;
      if (r.created && r.volume.state === 'active') await afterCreate(r.volume.id).catch(() => undefined);
      return { status: r.created ? 201 : 200, body: presentVolume(r.volume) as unknown };
    };
    const key = req.header('idempotency-key');
    const out = key ? replayOrThrow(await withIdempotencyKey(idempotency, { actor: actor.sub, key, method: req.method, path: req.path, body: req.body }, run)) : await run();
    // The volume's own address, on a first create and on a replay alike.
    res.location(`/v1/volumes/${(out.body as { id: string }).id}`);
    res.status(out.status).json(credentials ? { ...(out.body as object), credentials } : out.body);
  };
}

/** `GET /v1/volumes`: the volumes the caller may see, paged by cursor. */
function listVolumes(service: VolumeService): RequestHandler {
  return async (req, res) => {
    const limit = Number(req.query.limit ?? 100);
    const afterId = typeof req.query.cursor === 'string' ? decodeCursor(req.query.cursor) : undefined;
    const rows = await service.list(principalOf(req), {
      tenantId: req.query.tenantId as string | undefined,
      state: req.query.state as VolumeState | undefined,
      afterId,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    res.json({ items: page.map(presentVolume), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null });
  };
}

/** `GET /v1/fleet`: the query string turned into a fleet query. */
function fleetTable(fleet: VolumeRouteDeps['fleet']): RequestHandler {
  return async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const page = await fleet({
      tenantIds: q.tenantId ? [q.tenantId] : undefined,
      state: q.state as FleetState | undefined,
      engine: q.engine,
      minPercent: q.minPercent === undefined ? undefined : Number(q.minPercent),
      sort: (q.sort ?? 'name') as FleetSort,
      order: q.order === 'desc' ? 'desc' : 'asc',
      limit: Number(q.limit ?? 50),
      offset: Number(q.offset ?? 0),
    });
    res.json({ items: page.items.map(presentFleetRow), total: page.total });
  };
}

/** A fleet row as the API shows it (counts as JSON numbers, times as ISO strings). */
function presentFleetRow(f: FleetRow) {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  const num = (n: bigint | null) => (n === null ? null : Number(n));
  return {
    id: f.id,
    tenantId: f.tenantId,
    name: f.name,
    engine: f.engine,
    state: f.state,
    usedBytes: num(f.usedBytes),
    hardBytes: num(f.hardBytes),
    percentOfHard: f.percentOfHard,
    growthPerDay: f.growthPerDay,
    graceDeadline: iso(f.graceDeadline),
    readAt: iso(f.readAt),
    lastWalkAt: iso(f.lastWalkAt),
  };
}
