/**
 * Every pass compares what JuiceFS and SeaweedFS hold with what Headroom desired, and repairs
 * the difference: a failed or lost apply, a crash between commit and apply, someone running
 * `juicefs config` or editing filer.conf. Frozen and clamped volumes are checked every pass,
 * every other volume at least once per {@link VerifierOptions.everyMs} (rotating: those verified
 * longest ago are due first), so a pass stays cheap on a big fleet.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import client from 'prom-client';
import { recordAudit, type Actor } from '../audit/audit-log.js';
import { inTransaction, type Db } from '../db/database.js';
import type { NoticeData } from '../notifications/notice.js';
import type { Outbox } from '../notifications/outbox.js';
import type { StorageFreezer } from '../storage/storage-freeze.js';
import type { Volume } from '../volumes/volume.js';
import type { SettingLimits, VolumeMetadata } from '../meta/volume-metadata.js';
import type { Applier } from './applier.js';
import type { StateRow } from './enforcement-store.js';
import { layerKey, type Layer, type LayerRow, type LayerStore } from './layer-store.js';

/** The actor recorded for repairs. */
export const VERIFIER: Actor = { sub: 'system:verifier', role: 'system' };

/** A second drift of one layer within this long raises an admin notice. */
const REPEAT_DRIFT_MS = 86_400_000;

/** Options of the verifier. */
export interface VerifierOptions {
  db: Knex;
  layers: LayerStore;
  log: Logger;
  metadata: Pick<VolumeMetadata, 'readLimitsMany'>;
  storage?: StorageFreezer;
  applier: Applier;
  outbox: Outbox;
  registry: client.Registry;
  /** What an admin notice about `v` says (the enforcement service's snapshot). */
  noticeData(db: Db, v: Volume, s: StateRow, detail: string): Promise<NoticeData>;
  /** Longest time between two verifications of a volume that is neither frozen nor clamped. */
  everyMs: number;
}

/** What a verification found, added into a pass's counts. */
export interface VerifyCounts {
  verified: number;
  drifts: number;
  applied: number;
  verifyFailed: number;
}

/** Per-pass cache: filer.conf is read once a pass, not once a page. */
export interface VerifyPass {
  storageRules?: Promise<Set<string>>;
}

/** Compares systems with desired state and repairs drift. */
export class Verifier {
  private readonly drift: client.Counter<'layer'>;

  constructor(private readonly o: VerifierOptions) {
    this.drift = new client.Counter({
      name: 'headroom_enforcement_drift_total',
      help: 'Layers found holding something other than Headroom desired, and repaired',
      labelNames: ['layer'],
      registers: [o.registry],
    });
  }

  /** Verifies the due volumes of a page (states as the pass loaded them, after its decisions). */
  async verifyPage(page: readonly Volume[], states: ReadonlyMap<string, StateRow>, now: Date, pass: VerifyPass, counts: VerifyCounts, preloaded?: Map<string, LayerRow>): Promise<void> {
    const withState = page.flatMap((v) => {
      const s = states.get(v.id);
      return s && s.desiredCapacity !== null && v.state === 'active' ? [{ v, s }] : [];
    });
    if (!withState.length) return;
    // The pass loads the page's layer rows alongside its states (one round trip fewer per page).
    const layers =
      preloaded ??
      (await this.o.layers.load(
        withState.map((x) => x.v.id),
        { brief: true },
      ));
    const force = new Map<string, Set<Layer>>();
    const pending = new Set<string>();
    const verified: { volumeId: string; tenantId: string; layer: Layer; observed: Record<string, unknown> }[] = [];
    const due = withState.filter(({ v, s }) => this.due(v, s, layers.get(layerKey(v.id, 'metadata')), now));
    const observed = due.length ? await this.o.metadata.readLimitsMany(due.map((x) => x.v)) : new Map<string, SettingLimits | Error>();
    for (const { v, s } of due) {
      const row = layers.get(layerKey(v.id, 'metadata'));
      if (behind(row, s.metadataGeneration)) {
        pending.add(v.id);
        continue;
      }
      const o = observed.get(v.id);
      if (!o || o instanceof Error) {
        counts.verifyFailed++;
        continue;
      }
      const seen = { capacity: String(o.capacity), inodes: String(o.inodes) };
      if (o.capacity === s.desiredCapacity && o.inodes === (s.desiredInodes ?? 0n)) verified.push({ volumeId: v.id, tenantId: v.tenantId, layer: 'metadata', observed: seen });
      else {
        await this.recordDrift(v, s, 'metadata', seen, { capacity: String(s.desiredCapacity), inodes: String(s.desiredInodes ?? 0n) }, now, counts);
        addForce(force, v.id, 'metadata');
      }
    }
    if (this.o.storage) await this.verifyStorage(withState, layers, now, pass, counts, { force, pending, verified });
    await this.o.layers.recordVerified(verified, now);
    counts.verified += verified.length;
    const ids = new Set([...pending, ...force.keys()]);
    for (const id of ids) {
      counts.applied++;
      await this.o.applier.apply(id, [...(force.get(id) ?? [])]);
    }
  }

  /** Due: frozen, clamped, behind on its generation, a retry due, or not verified for a while. */
  private due(v: Volume, s: StateRow, row: LayerRow | undefined, now: Date): boolean {
    if (s.state === 'frozen' || behind(row, s.metadataGeneration)) return true;
    if (s.desiredCapacity !== (v.quota.hardBytes ?? 0n) || (s.desiredInodes ?? 0n) !== (v.quota.hardInodes ?? 0n)) return true;
    if (row?.retryAt && row.retryAt <= now) return true;
    return !row?.verifiedAt || now.getTime() - row.verifiedAt.getTime() >= this.o.everyMs;
  }

  /** The storage rule of every volume with a bucket, against one read of filer.conf per pass. */
  private async verifyStorage(
    items: { v: Volume; s: StateRow }[],
    layers: Map<string, LayerRow>,
    now: Date,
    pass: VerifyPass,
    counts: VerifyCounts,
    acc: { force: Map<string, Set<Layer>>; pending: Set<string>; verified: { volumeId: string; tenantId: string; layer: Layer; observed: Record<string, unknown> }[] },
  ): Promise<void> {
    const stored = items.filter(({ v }) => v.storage.bucket);
    if (!stored.length) return;
    pass.storageRules ??= this.o.storage!.observe();
    let rules: Set<string>;
    try {
      rules = await pass.storageRules;
    } catch (err) {
      this.o.log.warn({ err }, 'could not read filer.conf to verify storage freeze rules');
      counts.verifyFailed += stored.length;
      return;
    }
    for (const { v, s } of stored) {
      const row = layers.get(layerKey(v.id, 'storage'));
      if (behind(row, s.storageGeneration)) {
        acc.pending.add(v.id);
        continue;
      }
      const frozen = rules.has(this.o.storage!.prefixOf(v));
      if (frozen !== s.storageDesired) {
        await this.recordDrift(v, s, 'storage', { frozen }, { frozen: s.storageDesired }, now, counts);
        addForce(acc.force, v.id, 'storage');
      } else if (frozen || this.due(v, s, row, now)) acc.verified.push({ volumeId: v.id, tenantId: v.tenantId, layer: 'storage', observed: { frozen } });
    }
  }

  /** Counts, audits and (when it is not the first time today) tells admins of a drift. */
  private async recordDrift(v: Volume, s: StateRow, layer: Layer, observed: Record<string, unknown>, desired: Record<string, unknown>, now: Date, counts: VerifyCounts): Promise<void> {
    counts.drifts++;
    this.drift.inc({ layer });
    this.o.log.warn({ volumeId: v.id, layer, observed, desired }, 'enforcement drift: the system holds something other than Headroom desired; repairing');
    await inTransaction(this.o.db, async (trx) => {
      const before = await this.o.layers.transacting(trx).recordDrift({ volumeId: v.id, tenantId: v.tenantId, layer, observed, at: now });
      await recordAudit(trx, VERIFIER, {
        action: 'enforcement.drift_repaired',
        entityType: 'enforcement',
        entityId: v.id,
        tenantId: v.tenantId,
        before: { layer, ...observed },
        after: { layer, ...desired },
      });
      if (!before || now.getTime() - before.getTime() > REPEAT_DRIFT_MS) return;
      const what =
        layer === 'metadata'
          ? `its JuiceFS setting held Capacity ${observed.capacity} and Inodes ${observed.inodes} instead of ${desired.capacity} and ${desired.inodes}`
          : `its read-only rule in filer.conf was ${observed.frozen ? 'present' : 'missing'} though Headroom wants it ${desired.frozen ? 'present' : 'absent'}`;
      const data = await this.o.noticeData(trx, v, s, what);
      await this.o.outbox.enqueue(trx, {
        eventKey: `${v.id}:admin.enforcement_drift:${layer}:${now.toISOString()}`,
        type: 'admin.enforcement_drift',
        audience: 'admins',
        tenantId: v.tenantId,
        volumeId: v.id,
        data,
      });
    });
  }
}

/** Whether the layer has not yet carried out `generation` (no row: the seeded generation 0). */
function behind(row: LayerRow | undefined, generation: bigint): boolean {
  return (row?.appliedGeneration ?? 0n) < generation;
}

function addForce(m: Map<string, Set<Layer>>, id: string, layer: Layer) {
  m.set(id, (m.get(id) ?? new Set()).add(layer));
}
