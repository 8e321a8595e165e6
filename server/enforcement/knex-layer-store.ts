/**
 * The PostgreSQL {@link LayerStore}: one statement per call, outside decision transactions except
 * for drifts (recorded with their audit row). Upserts keep the applied generation monotonic.
 */
import type { Db } from '../db/database.js';
import { inTransaction } from '../db/database.js';
import { ROW_VERSION, type KnownVersions, type VersionedRows } from './enforcement-store.js';
import { layerKey, type ApplyFailure, type AppliedRecord, type DriftRecord, type Layer, type LayerRow, type LayerStore, type VerifiedRecord } from './layer-store.js';

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

/** {@link LayerStore} over the `enforcement_layers` table. */
export class KnexLayerStore implements LayerStore {
  constructor(private readonly db: Db) {}

  transacting(trx: Db): LayerStore {
    return new KnexLayerStore(trx);
  }

  async load(volumeIds: readonly string[], opts: { brief?: boolean } = {}): Promise<Map<string, LayerRow>> {
    const out = new Map<string, LayerRow>();
    for (let i = 0; i < volumeIds.length; i += 1000) {
      const q = this.db('enforcement_layers').whereRaw('volume_id = ANY(?)', [volumeIds.slice(i, i + 1000)]);
      const rows = (await (opts.brief ? q.select(BRIEF) : q)) as Record<string, unknown>[];
      for (const r of rows) out.set(layerKey(r.volume_id as string, r.layer as Layer), fromRow(r));
    }
    return out;
  }

  /**
   * The brief rows of a page of volumes against the versions the caller holds (`known`, by
   * {@link layerKey}): only the rows whose version differs come back (see `loadStatesVersioned`).
   */
  async loadVersioned(volumeIds: readonly string[], known: KnownVersions): Promise<VersionedRows<LayerRow>> {
    const r = (await this.db.raw(
      `WITH page AS (
         SELECT l.volume_id, l.layer, ${ROW_VERSION('l')} AS version, k.known
           FROM enforcement_layers l LEFT JOIN unnest(?::text[], ?::text[]) AS k(key, known) ON k.key = l.volume_id || '/' || l.layer
          WHERE l.volume_id = ANY(?::text[])
       )
       SELECT c.unchanged, p.version AS row_version, ${BRIEF.map((col) => `l.${col}`).join(', ')}
         FROM (SELECT count(*) FILTER (WHERE version = known) AS unchanged FROM page) c
         LEFT JOIN page p ON p.version IS DISTINCT FROM p.known
         LEFT JOIN enforcement_layers l ON l.volume_id = p.volume_id AND l.layer = p.layer`,
      [known.keys, known.versions, [...volumeIds]],
    )) as { rows: Record<string, unknown>[] };
    const changed = new Map<string, { version: string; row: LayerRow }>();
    for (const row of r.rows) {
      if (row.volume_id !== null) changed.set(layerKey(row.volume_id as string, row.layer as Layer), { version: row.row_version as string, row: fromRow(row) });
    }
    return { changed, unchanged: Number(r.rows[0]?.unchanged ?? 0) };
  }

  async appliedGenerations(volumeId: string): Promise<Map<Layer, bigint>> {
    const rows = (await this.db('enforcement_layers').where({ volume_id: volumeId }).select('layer', 'applied_generation')) as { layer: Layer; applied_generation: bigint }[];
    return new Map(rows.map((r) => [r.layer, BigInt(r.applied_generation)]));
  }

  async recordApplied(e: AppliedRecord): Promise<boolean> {
    const r = await this.db.raw(
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

  async recordApplyFailure(e: ApplyFailure): Promise<number> {
    // One transaction: a reader never sees the new error without its retry time (or the reverse).
    return inTransaction(this.db, async (trx) => {
      const r = (await trx.raw(
        `INSERT INTO enforcement_layers AS l (volume_id, layer, tenant_id, last_error, last_error_at, attempts)
       VALUES (?, ?, ?, ?, ?, 1)
       ON CONFLICT (volume_id, layer) DO UPDATE
         SET last_error = EXCLUDED.last_error, last_error_at = EXCLUDED.last_error_at, attempts = l.attempts + 1
       RETURNING attempts`,
        [e.volumeId, e.layer, e.tenantId, e.error.slice(0, 2000), e.at],
      )) as { rows: { attempts: number }[] };
      const attempts = Number(r.rows[0]?.attempts ?? 1);
      await trx('enforcement_layers')
        .where({ volume_id: e.volumeId, layer: e.layer })
        .update({ retry_at: e.retryAt(attempts) });
      return attempts;
    });
  }

  async recordVerified(items: readonly VerifiedRecord[], at: Date): Promise<void> {
    if (!items.length) return;
    await this.db.raw(
      `INSERT INTO enforcement_layers AS l (volume_id, layer, tenant_id, observed, verified_at)
       SELECT v, y, t, o::jsonb, ? FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) AS x(v, y, t, o)
       ON CONFLICT (volume_id, layer) DO UPDATE SET observed = EXCLUDED.observed, verified_at = EXCLUDED.verified_at`,
      [at, items.map((i) => i.volumeId), items.map((i) => i.layer), items.map((i) => i.tenantId), items.map((i) => JSON.stringify(i.observed))],
    );
  }

  async recordDrift(e: DriftRecord): Promise<Date | null> {
    const r = (await this.db.raw(
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
}
