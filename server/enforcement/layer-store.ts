/**
 * The store of what the applier and the verifier saw of each enforcement layer (JuiceFS metadata,
 * SeaweedFS storage rule) of each volume: the generation applied, the values observed and when,
 * the errors and drifts met. Written outside decision transactions, so carrying out or checking a
 * decision never holds a row lock. `KnexLayerStore` implements it over PostgreSQL and
 * `FakeLayerStore` in memory; both pass test/contract/layer-store.contract.ts.
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

/** The key of a layer row in {@link LayerStore.load}'s map. */
export const layerKey = (volumeId: string, layer: Layer) => `${volumeId}/${layer}`;

/** A generation carried out, and what the layer holds now. */
export interface AppliedRecord {
  volumeId: string;
  tenantId: string;
  layer: Layer;
  generation: bigint;
  observed: Record<string, unknown>;
  at: Date;
}

/** A failed apply; `retryAt` turns the attempts so far into the next retry time. */
export interface ApplyFailure {
  volumeId: string;
  tenantId: string;
  layer: Layer;
  error: string;
  at: Date;
  retryAt: (attempts: number) => Date;
}

/** A layer read and found holding what is desired. */
export interface VerifiedRecord {
  volumeId: string;
  tenantId: string;
  layer: Layer;
  observed: Record<string, unknown>;
}

/** A layer found holding something else than desired. */
export interface DriftRecord {
  volumeId: string;
  tenantId: string;
  layer: Layer;
  observed: Record<string, unknown>;
  at: Date;
}

/** Enforcement layers' applied and observed state. */
export interface LayerStore {
  /** The same store inside the caller's transaction (stores never open one). */
  transacting(trx: Db): LayerStore;
  /**
   * The rows of many volumes by {@link layerKey} (absent = never applied nor verified). `brief`
   * reads only what a pass needs to decide what is due (observed and errors come back null).
   */
  load(volumeIds: readonly string[], opts?: { brief?: boolean }): Promise<Map<string, LayerRow>>;
  /** The generation last applied per layer of one volume. */
  appliedGenerations(volumeId: string): Promise<Map<Layer, bigint>>;
  /**
   * Records that a generation was carried out (clearing errors). The applied generation never goes
   * down: a late apply of an older generation records nothing over a newer one (returns false).
   */
  recordApplied(e: AppliedRecord): Promise<boolean>;
  /** Records a failed apply and its retry time; returns the attempts made so far. */
  recordApplyFailure(e: ApplyFailure): Promise<number>;
  /** Records that these layers were read and hold what is desired. */
  recordVerified(items: readonly VerifiedRecord[], at: Date): Promise<void>;
  /** Records a drift; returns when the layer drifted before (null = first time). */
  recordDrift(e: DriftRecord): Promise<Date | null>;
}
