/**
 * PostgreSQL store of what the applier and the verifier saw of each enforcement layer (JuiceFS
 * metadata, SeaweedFS storage rule) of each volume. Written outside decision transactions, in
 * single statements, so carrying out or checking a decision never holds a row lock.
 */
import type { Db } from '../db/database.js';

/** The layers a decision has desired state in. */
export type Layer = 'metadata' | 'storage';

/** What one layer of one volume was last seen to hold. */
export interface LayerRow {
  volumeId: string;
  layer: Layer;
  appliedGeneration: bigint;
  /** `{ capacity, inodes }` (decimal strings) for metadata, `{ frozen }` for storage. */
  observed: Record<string, unknown> | null;
  verifiedAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  attempts: number;
  retryAt: Date | null;
  drifts: number;
  lastDriftAt: Date | null;
}

const fromRow = (r: Record<string, unknown>): LayerRow => ({
  volumeId: r.volume_id as string,
  layer: r.layer as Layer,
  appliedGeneration: BigInt((r.applied_generation as bigint | null) ?? 0n),
  observed: (r.observed as Record<string, unknown> | null) ?? null,
  verifiedAt: (r.verified_at as Date | null) ?? null,
  lastError: (r.last_error as string | null) ?? null,
  lastErrorAt: (r.last_error_at as Date | null) ?? null,
  attempts: Number(r.attempts ?? 0),
  retryAt: (r.retry_at as Date | null) ?? null,
  drifts: Number(r.drifts ?? 0),
  lastDriftAt: (r.last_drift_at as Date | null) ?? null,
});

/** What a pass needs to tell whether a layer is due: no observed JSON, no error texts. */
const BRIEF = ['volume_id', 'layer', 'applied_generation', 'verified_at', 'retry_at', 'attempts', 'drifts'];

/**
 * The layer rows of many volumes: `${volumeId}/${layer}` → row (absent = never applied nor
 * verified). `brief` reads only what a pass needs to decide what is due (observed and errors
 * come back null), which keeps a pass over a big fleet cheap.
 */
export async function loadLayers(db: Db, volumeIds: readonly string[], opts: { brief?: boolean } = {}): Promise<Map<string, LayerRow>> {
  const out = new Map<string, LayerRow>();
  for (let i = 0; i < volumeIds.length; i += 1000) {
    const q = db('enforcement_layers').whereRaw('volume_id = ANY(?)', [volumeIds.slice(i, i + 1000)]);
    const rows = (await (opts.brief ? q.select(BRIEF) : q)) as Record<string, unknown>[];
    for (const r of rows) out.set(layerKey(r.volume_id as string, r.layer as Layer), fromRow(r));
  }
  return out;
}

/** The generation last applied per layer of one volume. */
export async function appliedGenerations(db: Db, volumeId: string): Promise<Map<Layer, bigint>> {
  const rows = (await db('enforcement_layers').where({ volume_id: volumeId }).select('layer', 'applied_generation')) as { layer: Layer; applied_generation: bigint }[];
  return new Map(rows.map((r) => [r.layer, BigInt(r.applied_generation)]));
}

/** The key of a layer row in {@link loadLayers}' map. */
export const layerKey = (volumeId: string, layer: Layer) => `${volumeId}/${layer}`;

/**
 * Records that `generation` was carried out and the layer now holds `observed`. The applied
 * generation never goes down: an applier that finishes late with an older generation records
 * nothing over a newer one.
 */
export async function recordApplied(db: Db, e: { volumeId: string; tenantId: string; layer: Layer; generation: bigint; observed: Record<string, unknown>; at: Date }): Promise<boolean> {
  const r = await db.raw(
    `INSERT INTO enforcement_layers AS l (volume_id, layer, tenant_id, applied_generation, observed, verified_at, attempts)
     VALUES (?, ?, ?, ?, ?::jsonb, ?, 0)
     ON CONFLICT (volume_id, layer) DO UPDATE
       SET applied_generation = EXCLUDED.applied_generation, observed = EXCLUDED.observed, verified_at = EXCLUDED.verified_at,
           last_error = NULL, last_error_at = NULL, attempts = 0, retry_at = NULL
       WHERE l.applied_generation <= EXCLUDED.applied_generation`,
    [e.volumeId, e.layer, e.tenantId, e.generation.toString(), JSON.stringify(e.observed), e.at],
  );
  return (r as { rowCount: number }).rowCount > 0;
}

/** Records a failed apply and when to retry it; returns the attempts made so far. */
export async function recordApplyFailure(db: Db, e: { volumeId: string; tenantId: string; layer: Layer; error: string; at: Date; retryAt: (attempts: number) => Date }): Promise<number> {
  const r = (await db.raw(
    `INSERT INTO enforcement_layers AS l (volume_id, layer, tenant_id, last_error, last_error_at, attempts)
     VALUES (?, ?, ?, ?, ?, 1)
     ON CONFLICT (volume_id, layer) DO UPDATE
       SET last_error = EXCLUDED.last_error, last_error_at = EXCLUDED.last_error_at, attempts = l.attempts + 1
     RETURNING attempts`,
    [e.volumeId, e.layer, e.tenantId, e.error.slice(0, 2000), e.at],
  )) as { rows: { attempts: number }[] };
  const attempts = Number(r.rows[0]?.attempts ?? 1);
  await db('enforcement_layers')
    .where({ volume_id: e.volumeId, layer: e.layer })
    .update({ retry_at: e.retryAt(attempts) });
  return attempts;
}

/** Records that these layers were read and hold what is desired. */
export async function recordVerified(db: Db, items: readonly { volumeId: string; tenantId: string; layer: Layer; observed: Record<string, unknown> }[], at: Date): Promise<void> {
  if (!items.length) return;
  await db.raw(
    `INSERT INTO enforcement_layers AS l (volume_id, layer, tenant_id, observed, verified_at)
     SELECT v, y, t, o::jsonb, ? FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) AS x(v, y, t, o)
     ON CONFLICT (volume_id, layer) DO UPDATE SET observed = EXCLUDED.observed, verified_at = EXCLUDED.verified_at`,
    [at, items.map((i) => i.volumeId), items.map((i) => i.layer), items.map((i) => i.tenantId), items.map((i) => JSON.stringify(i.observed))],
  );
}

/** Records a drift found by verification; returns when the layer drifted before (null = first time). */
export async function recordDrift(db: Db, e: { volumeId: string; tenantId: string; layer: Layer; observed: Record<string, unknown>; at: Date }): Promise<Date | null> {
  const r = (await db.raw(
    `WITH prev AS (SELECT last_drift_at FROM enforcement_layers WHERE volume_id = ? AND layer = ?)
     INSERT INTO enforcement_layers AS l (volume_id, layer, tenant_id, observed, verified_at, drifts, last_drift_at)
     VALUES (?, ?, ?, ?::jsonb, ?, 1, ?)
     ON CONFLICT (volume_id, layer) DO UPDATE
       SET observed = EXCLUDED.observed, verified_at = EXCLUDED.verified_at, drifts = l.drifts + 1, last_drift_at = EXCLUDED.last_drift_at
     RETURNING (SELECT last_drift_at FROM prev) AS before`,
    [e.volumeId, e.layer, e.volumeId, e.layer, e.tenantId, JSON.stringify(e.observed), e.at, e.at],
  )) as { rows: { before: Date | null }[] };
  return r.rows[0]?.before ?? null;
}
