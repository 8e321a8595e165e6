/**
 * An in-memory {@link LayerStore} for unit tests of the applier and the verifier. It passes the
 * same contract suite as {@link KnexLayerStore} (test/contract/layer-store.contract.ts).
 */
import type { Db } from '../db/database.js';
import { layerKey, type ApplyFailure, type AppliedRecord, type DriftRecord, type Layer, type LayerRow, type LayerStore, type VerifiedRecord } from './layer-store.js';

const empty = (volumeId: string, layer: Layer): LayerRow => ({
  volumeId,
  layer,
  appliedGeneration: 0n,
  observed: null,
  verifiedAt: null,
  lastError: null,
  lastErrorAt: null,
  attempts: 0,
  retryAt: null,
  drifts: 0,
  lastDriftAt: null,
});

/** {@link LayerStore} in a Map. */
export class FakeLayerStore implements LayerStore {
  readonly rows = new Map<string, LayerRow>();

  transacting(_trx: Db): LayerStore {
    return this;
  }

  private row(volumeId: string, layer: Layer): LayerRow {
    const k = layerKey(volumeId, layer);
    const r = this.rows.get(k) ?? empty(volumeId, layer);
    this.rows.set(k, r);
    return r;
  }

  async load(volumeIds: readonly string[], opts: { brief?: boolean } = {}): Promise<Map<string, LayerRow>> {
    const ids = new Set(volumeIds);
    const out = new Map<string, LayerRow>();
    for (const [k, r] of this.rows) {
      if (!ids.has(r.volumeId)) continue;
      out.set(k, opts.brief ? { ...r, observed: null, lastError: null, lastErrorAt: null, lastDriftAt: null } : { ...r });
    }
    return out;
  }

  async appliedGenerations(volumeId: string): Promise<Map<Layer, bigint>> {
    return new Map([...this.rows.values()].filter((r) => r.volumeId === volumeId).map((r) => [r.layer, r.appliedGeneration]));
  }

  async recordApplied(e: AppliedRecord): Promise<boolean> {
    const r = this.row(e.volumeId, e.layer);
    if (r.appliedGeneration > e.generation) return false;
    Object.assign(r, { appliedGeneration: e.generation, observed: { ...e.observed }, verifiedAt: e.at, lastError: null, lastErrorAt: null, attempts: 0, retryAt: null });
    return true;
  }

  async recordApplyFailure(e: ApplyFailure): Promise<number> {
    const r = this.row(e.volumeId, e.layer);
    r.attempts += 1;
    Object.assign(r, { lastError: e.error.slice(0, 2000), lastErrorAt: e.at, retryAt: e.retryAt(r.attempts) });
    return r.attempts;
  }

  async recordVerified(items: readonly VerifiedRecord[], at: Date): Promise<void> {
    for (const i of items) Object.assign(this.row(i.volumeId, i.layer), { observed: { ...i.observed }, verifiedAt: at });
  }

  async recordDrift(e: DriftRecord): Promise<Date | null> {
    const r = this.row(e.volumeId, e.layer);
    const before = r.lastDriftAt;
    Object.assign(r, { observed: { ...e.observed }, verifiedAt: e.at, drifts: r.drifts + 1, lastDriftAt: e.at });
    return before;
  }
}
