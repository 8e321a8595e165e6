/**
 * The service's access to JuiceFS volumes on TKV engines (local, etcd, TiKV): the implementation
 * of the {@link VolumeMetadata} port over the engine registry and the TKV layout.
 */
import path from 'node:path';
import type { CounterUsage, SettingLimits, VolumeIdentity, VolumeMetadata, WalkOptions, WalkOutcome, StorageTarget, VolumeRef } from './volume-metadata.js';
import type { KvEngine } from '../engines/kv.js';
import type { EngineRegistry } from './engine-registry.js';
import { parseSetting, type FormatSpec, type FormatVersion, type SettingInfo } from './tkv/setting.js';
import { NotFormattedError, PrefixNotEmptyError, readCountersMany, TkvVolume, type Counters } from './tkv/tkv-volume.js';
import { counterMismatch, walkVolume, type WalkResult } from './tkv/walk.js';
import { TkvDirQuotas } from './tkv/quota-records.js';
import { TkvUserGroupQuotas } from './tkv/ug-quota-records.js';

/** Volumes whose counters are read in one batch (2 keys each). */
export const USAGE_BATCH = 1000;

/** How new volumes are formatted. */
export interface FormatDefaults {
  /** Directory used as JuiceFS `file` storage when no object store is configured. */
  objectsDir: string;
  trashDays: number;
  version: FormatVersion;
}

/**
 * The JuiceFS volume name: the volume's prefix, which is unique forever, so objects of different
 * volumes never share a `<bucket>/<Name>/` path. Prefixes shorter than JuiceFS's 3-character
 * minimum get a `-fs` suffix.
 */
export function juicefsName(volume: Pick<VolumeRef, 'prefix'>): string {
  return volume.prefix.length >= 3 ? volume.prefix : `${volume.prefix}-fs`;
}

/** {@link VolumeMetadata} over TKV engines. */
export class JuiceFsMetadata implements VolumeMetadata {
  constructor(
    private readonly registry: EngineRegistry,
    private readonly defaults: FormatDefaults,
  ) {}

  private readonly handles = new Map<string, TkvVolume>();

  /** The volumes' native directory quotas, on the same handles. */
  readonly quotas = new TkvDirQuotas((metaUrl) => this.volume(metaUrl));
  /** Their JuiceFS 1.4 user and group quotas. */
  readonly userGroupQuotas = new TkvUserGroupQuotas((metaUrl) => this.volume(metaUrl));

  /** The volume's metadata handle (cached: a counters pass asks for every volume every few minutes). */
  volume(metaUrl: string): TkvVolume {
    let tv = this.handles.get(metaUrl);
    if (!tv) {
      const { engine, location } = this.registry.forUrl(metaUrl);
      tv = new TkvVolume(engine, location.prefix);
      if (this.handles.size >= 100_000) this.handles.clear(); // bound memory on huge fleets
      this.handles.set(metaUrl, tv);
    }
    return tv;
  }

  /**
   * Formats the volume. Safe to repeat: if an earlier attempt formatted it and crashed before
   * recording that, the setting carries this volume's name and is accepted as done.
   */
  async provision(v: VolumeRef, target?: StorageTarget): Promise<void> {
    await formatOrAccept(this.volume(v.metaUrl), v, this.defaults, target);
  }

  async readUsage(v: VolumeRef): Promise<CounterUsage> {
    // Through the batch path, so a volume whose metadata vanished fails here too.
    return onlyUsage(await this.readUsageMany([v]), v.id);
  }

  /**
   * Counters of many volumes: volumes on one engine are read together in batches of
   * {@link USAGE_BATCH} (two keys each), so 10,000 volumes on one cluster cost 10 round trips.
   * A failed batch is retried volume by volume, so only the volumes that fail are marked failed.
   */
  async readUsageMany(volumes: readonly VolumeRef[]): Promise<Map<string, CounterUsage | Error>> {
    const out = new Map<string, CounterUsage | Error>();
    await this.inBatches(volumes, out, (engine, part) => readCountersInBatch(part, (tvs) => readCountersMany(engine, tvs), out));
    return out;
  }

  /**
   * The settings of many volumes, one batch read per engine and {@link USAGE_BATCH} volumes; a
   * failed batch is read volume by volume so one bad setting does not blind the rest.
   */
  async readLimitsMany(volumes: readonly VolumeRef[]): Promise<Map<string, SettingLimits | Error>> {
    const out = new Map<string, SettingLimits | Error>();
    await this.inBatches(volumes, out, async (engine, part) => {
      try {
        const got = await engine.batchGet(part.map((p) => p.h.settingKey.key));
        for (const { v, h } of part) {
          const keyHex = h.settingKey.hex;
          const raw = got.get(keyHex);
          try {
            if (!raw) throw new NotFormattedError(keyHex);
            out.set(v.id, limitsOf(parseSetting(Buffer.from(raw).toString('utf8'), keyHex)));
          } catch (err) {
            out.set(v.id, err as Error);
          }
        }
      } catch {
        await Promise.all(part.map(async ({ v, h }) => out.set(v.id, await h.readSetting().then(limitsOf, (err: Error) => err))));
      }
    });
    return out;
  }

  /**
   * Groups volumes by engine and runs `read` on batches of {@link USAGE_BATCH} of each, engines in
   * parallel; a volume whose meta URL cannot be opened gets its error in `out`.
   */
  private async inBatches<T>(volumes: readonly VolumeRef[], out: Map<string, T | Error>, read: (engine: KvEngine, part: { v: VolumeRef; h: TkvVolume }[]) => Promise<void>): Promise<void> {
    const groups = new Map<KvEngine, { v: VolumeRef; h: TkvVolume }[]>();
    for (const v of volumes) {
      try {
        const h = this.volume(v.metaUrl);
        const g = groups.get(h.engine);
        if (g) g.push({ v, h });
        else groups.set(h.engine, [{ v, h }]);
      } catch (err) {
        out.set(v.id, err as Error);
      }
    }
    await Promise.all(
      [...groups].map(async ([engine, items]) => {
        for (let i = 0; i < items.length; i += USAGE_BATCH) await read(engine, items.slice(i, i + USAGE_BATCH));
      }),
    );
  }

  async walk(v: VolumeRef, opts: WalkOptions): Promise<WalkOutcome> {
    const tv = this.volume(v.metaUrl);
    const before = await tv.readCounters();
    const w = await walkVolume(tv.engine, tv.keys, { ...opts, expectedInodes: before.totalInodes });
    const after = await tv.readCounters();
    // Counters read after the walk: a volume being written shows its drift, a still one none.
    return walkOutcome(w, after);
  }

  async inspect(metaUrl: string): Promise<VolumeIdentity> {
    return identityOf(await this.volume(metaUrl).readSetting());
  }

  /**
   * Deletes every key under the volume's prefix, a hundred per transaction (etcd refuses more
   * than 128 operations in one), until the range is empty. Only this prefix + 0xFD: volume `a`
   * never touches `a-b`.
   */
  async purge(v: VolumeRef): Promise<{ keysDeleted: number }> {
    const tv = this.volume(v.metaUrl);
    const [start, end] = tv.keys.range();
    let keysDeleted = 0;
    for (;;) {
      const batch: Uint8Array[] = [];
      for await (const p of tv.engine.scan(start, end, { limit: 100, pageSize: 100, keysOnly: true })) batch.push(p.key);
      if (!batch.length) return { keysDeleted };
      await tv.engine.txn(async (t) => {
        for (const k of batch) t.delete(k);
      });
      keysDeleted += batch.length;
    }
  }

  /** Writes the volume's JuiceFS Capacity/Inodes (0 = unlimited). */
  async setLimits(v: VolumeRef, limits: { capacity: bigint; inodes: bigint }): Promise<{ changed: boolean }> {
    const r = await this.volume(v.metaUrl).setLimits(limits);
    return { changed: r.changed };
  }
}

/** A walk's result as the service stores it, next to the counters read after it (any engine). */
export function walkOutcome(w: WalkResult, after: { usedSpace: bigint; totalInodes: bigint }): WalkOutcome {
  return {
    keysRead: w.keysRead,
    totals: { bytes: w.tree.bytes, logicalBytes: w.tree.logicalBytes, inodes: w.tree.inodes },
    trash: { bytes: w.trash.bytes, inodes: w.trash.inodes },
    counters: { usedBytes: after.usedSpace, usedInodes: after.totalInodes },
    mismatch: counterMismatch(w, after),
    directories: w.directories,
    ...(w.profile ? { profile: w.profile } : {}),
  };
}

/** A volume's setting handle on any engine (TKV or Redis): what formatting needs. */
interface Formattable {
  format(spec: FormatSpec): Promise<unknown>;
  readSetting(): Promise<SettingInfo>;
}

/**
 * Formats `v` as `juicefs format` would, with `target` storage or the local `file` default. Safe
 * to repeat: if an earlier attempt formatted it and crashed before recording that, the setting
 * carries this volume's name and is accepted as done; any other content is refused.
 */
export async function formatOrAccept(h: Formattable, v: VolumeRef, defaults: FormatDefaults, target?: StorageTarget): Promise<void> {
  const name = juicefsName(v);
  try {
    await h.format({
      name,
      storage: target?.storage ?? 'file',
      bucket: target?.bucket ?? path.join(defaults.objectsDir, path.sep),
      accessKey: target?.accessKey,
      secretKey: target?.secretKey,
      capacity: v.quota.hardBytes ?? 0n,
      inodes: v.quota.hardInodes ?? 0n,
      trashDays: defaults.trashDays,
      version: defaults.version,
    });
  } catch (err) {
    if (err instanceof PrefixNotEmptyError && (await h.readSetting().catch(() => undefined))?.name === name) return;
    throw err;
  }
}

/** The one volume's usage out of a batch read's map, or its error thrown. */
export function onlyUsage(m: Map<string, CounterUsage | Error>, id: string): CounterUsage {
  const r = m.get(id) ?? new Error('not read');
  if (r instanceof Error) throw r;
  return r;
}

/** The limits part of a setting. */
export function limitsOf(s: SettingInfo): SettingLimits {
  return { capacity: s.capacity, inodes: s.inodes };
}

/** What an existing setting says about its volume (for adoption). */
export function identityOf(s: SettingInfo): VolumeIdentity {
  return { name: s.name, uuid: s.uuid, storage: s.storage, bucket: s.bucket, capacity: s.capacity, inodes: s.inodes };
}

/**
 * Reads the counters of a batch of volumes with `many` (one round trip, or a few); when the batch
 * fails, reads them one by one, so one corrupt or unreadable volume does not blind the others.
 * Results (or each volume's Error) go into `out` by volume id.
 */
export async function readCountersInBatch<H extends { readCounters(): Promise<Counters>; readSettingText(): Promise<string> }>(
  batch: readonly { v: VolumeRef; h: H }[],
  many: (handles: H[]) => Promise<Counters[]>,
  out: Map<string, CounterUsage | Error>,
): Promise<void> {
  let counters: (Counters | Error)[];
  try {
    counters = await many(batch.map((b) => b.h));
  } catch {
    counters = await Promise.all(batch.map((b) => b.h.readCounters().catch((err: Error) => err)));
  }
  // Synchronous for every volume with counters (all of them, nearly always): no promise each.
  const absent: number[] = [];
  for (let i = 0; i < batch.length; i++) {
    const c = counters[i]!;
    if (c instanceof Error) out.set(batch[i]!.v.id, c);
    else if (c.absent) absent.push(i);
    else out.set(batch[i]!.v.id, { usedBytes: c.usedSpace, usedInodes: c.totalInodes });
  }
  // No counters at all: an untouched volume has its setting; a vanished one has none, and
  // must read as an error (unknown), never as empty (which would unfreeze it).
  await Promise.all(
    absent.map(async (i) => {
      const b = batch[i]!;
      const c = counters[i] as Counters;
      const gone = await b.h.readSettingText().then(
        () => undefined,
        (err: Error) => err,
      );
      if (gone) out.set(b.v.id, new Error(`the volume's metadata is missing (${gone.message}); a deleted prefix, or a metadata server that restarted empty`));
      else out.set(b.v.id, { usedBytes: c.usedSpace, usedInodes: c.totalInodes });
    }),
  );
}
