/**
 * JuiceFS directory quotas on the TKV layout (juicefs-metadata.md §7; `tkv.go: doGetQuota,
 * doSetQuota, doDelQuota, doLoadQuotas, doSyncDirStat`), written the way `juicefs quota` writes
 * them so that mounts enforce them and `juicefs quota get/list/check` show them:
 *
 * - the record is `P "QD" ino:LE8` → 32 bytes BE (maxSpace, maxInodes, usedSpace, usedInodes);
 * - limits change in a read-modify-write transaction that keeps the used values, because every
 *   client read-add-writes them every 3 s (§14.7), retried on conflict;
 * - a new record gets −1 for a limit not given (1.4's default) and then the subtree usage, as
 *   `quota set` computes it (`calcDirQuotaUsage`): Σ align4K(length) and the number of entries
 *   below the directory, the directory itself excluded, hard links once per link, trash not at all;
 * - computing it fills in the dir stats (`U ino`) of directories that have none, as JuiceFS's fast
 *   summary does through `doSyncDirStat`; existing stats are never overwritten (clients own them);
 * - delete removes the key; nothing else (dir quotas keep no other state).
 */
import { hexKey } from '../../engines/kv.js';
import { MAX_PATH_DEPTH, splitDirPath, joinDirPath } from '../dir-path.js';
import { LayoutDirQuotas } from '../dir-quota-adapter.js';
import { dirQuotaKey, type DirQuotaLimits, type DirQuotaRecord, type SubtreeUsage, type VolumeRef } from '../volume-metadata.js';
import { ROOT_INODE, TRASH_INODE } from './keys.js';
import { CorruptMetadataError, TYPE_DIR, TYPE_FILE, align4K, attrSummary, decodeDentry, decodeDirQuota, encodeDirQuota, encodeDirStat } from './records.js';
import type { TkvVolume } from './tkv-volume.js';

/** Keys per batch read (attrs of a directory's children, quota records of a counters pass). */
const BATCH = 1000;

/** A record as stored, or undefined; a value of the wrong length is corrupt (JuiceFS refuses it too). */
export async function readDirQuota(tv: TkvVolume, ino: bigint): Promise<DirQuotaRecord | undefined> {
  const key = tv.keys.dirQuota(ino);
  const v = await tv.engine.get(key);
  return v && v.length ? { inode: ino, ...decodeDirQuota(v, hexKey(key)) } : undefined;
}

/** The inode of a directory path, or undefined when a component is missing or not a directory. */
export async function resolveDirectory(tv: TkvVolume, path: Buffer): Promise<bigint | undefined> {
  const parts = splitDirPath(path);
  if (!parts) return undefined;
  let ino = ROOT_INODE;
  for (const name of parts) {
    const key = tv.keys.dentry(ino, name);
    const v = await tv.engine.get(key);
    if (!v) return undefined;
    const d = decodeDentry(v, hexKey(key));
    if (d.type !== TYPE_DIR) return undefined;
    ino = d.ino;
  }
  return ino;
}

/** The path of a directory, from its attr's parent and that parent's dentries (`GetPaths` for dirs). */
export async function directoryPath(tv: TkvVolume, ino: bigint): Promise<Buffer | undefined> {
  const names: Buffer[] = [];
  for (let depth = 0; ino !== ROOT_INODE; depth++) {
    if (depth > MAX_PATH_DEPTH || ino >= TRASH_INODE) return undefined;
    const key = tv.keys.attr(ino);
    const a = await tv.engine.get(key);
    if (!a) return undefined;
    const parent = attrSummary(a, hexKey(key)).parent;
    if (parent === 0n) return undefined; // hard-linked files only: never a directory
    const [start, end] = tv.keys.dentryRange(parent);
    let found: Buffer | undefined;
    for await (const { key: k, value } of tv.engine.scan(start, end, { pageSize: BATCH })) {
      if (value.length === 9 && Buffer.from(value).readBigUInt64BE(1) === ino) {
        found = Buffer.from(k).subarray(start.length);
        break;
      }
    }
    if (!found) return undefined;
    names.unshift(found);
    ino = parent;
  }
  return joinDirPath(names);
}

/**
 * The subtree's usage as `quota check --strict` counts it, listing every directory's dentries and
 * reading its children's attrs in batches. With `syncDirStats`, directories without a `U` record
 * get one (what `quota set`'s fast summary leaves behind), written only if still absent.
 */
export async function subtreeUsage(tv: TkvVolume, root: bigint, opts: { syncDirStats?: boolean } = {}): Promise<SubtreeUsage> {
  const total: SubtreeUsage = { space: 0n, inodes: 0n };
  const queue: bigint[] = [root];
  while (queue.length) {
    const dir = queue.shift()!;
    const [start, end] = tv.keys.dentryRange(dir);
    const children: bigint[] = [];
    for await (const { key, value } of tv.engine.scan(start, end, { pageSize: BATCH })) children.push(decodeDentry(value, hexKey(key)).ino);
    const stat = { length: 0n, space: 0n, inodes: 0n };
    for (let i = 0; i < children.length; i += BATCH) {
      const keys = children.slice(i, i + BATCH).map((c) => tv.keys.attr(c));
      const got = await tv.engine.batchGet(keys);
      keys.forEach((k, j) => {
        const v = got.get(hexKey(k));
        if (!v) return; // a dentry whose inode is gone: JuiceFS's readdir skips it too
        const a = attrSummary(v, hexKey(k));
        total.space += align4K(a.length);
        total.inodes += 1n;
        stat.inodes += 1n;
        if (a.type === TYPE_FILE) {
          stat.length += a.length;
          stat.space += align4K(a.length);
        } else stat.space += 4096n;
        if (a.type === TYPE_DIR) queue.push(children[i + j]!);
      });
    }
    if (opts.syncDirStats) await syncDirStatIfAbsent(tv, dir, stat);
  }
  return total;
}

/** `doSyncDirStat`, but never over a record a client wrote meanwhile. */
async function syncDirStatIfAbsent(tv: TkvVolume, dir: bigint, stat: { length: bigint; space: bigint; inodes: bigint }): Promise<void> {
  const key = tv.keys.dirStat(dir);
  if (await tv.engine.get(key)) return;
  await tv.engine.txn(
    async (t) => {
      if ((await t.get(key)) || !(await t.get(tv.keys.attr(dir)))) return;
      t.put(key, encodeDirStat(stat));
    },
    { retries: 5 },
  );
}

/** Read-modify-write of one record in a retried transaction; `change` returns the new record or null for no write. */
async function modify(tv: TkvVolume, ino: bigint, change: (q: DirQuotaRecord | undefined) => DirQuotaRecord | null): Promise<DirQuotaRecord | undefined> {
  const key = tv.keys.dirQuota(ino);
  return tv.engine.txn(
    async (t) => {
      const v = await t.get(key);
      const q = v && v.length ? { inode: ino, ...decodeDirQuota(v, hexKey(key)) } : undefined;
      const next = change(q);
      if (!next) return q;
      t.put(key, encodeDirQuota(next));
      return next;
    },
    { retries: 20 },
  );
}

/** `juicefs quota set`: limits on a new or existing record; a new one gets its usage computed. */
export async function setDirQuota(tv: TkvVolume, ino: bigint, limits: DirQuotaLimits): Promise<{ created: boolean; record: DirQuotaRecord }> {
  let created = false;
  const rec = await modify(tv, ino, (q) => {
    created = !q;
    const base = q ?? { inode: ino, maxSpace: -1n, maxInodes: -1n, usedSpace: 0n, usedInodes: 0n };
    const next = { ...base, maxSpace: limits.maxSpace ?? base.maxSpace, maxInodes: limits.maxInodes ?? base.maxInodes };
    return q && q.maxSpace === next.maxSpace && q.maxInodes === next.maxInodes ? null : next;
  });
  if (!created) return { created, record: rec! };
  const usage = await subtreeUsage(tv, ino, { syncDirStats: true });
  const after = await repairDirQuota(tv, ino, usage);
  return { created, record: after ?? rec! };
}

/** Writes the used values of an existing record (`quota check --repair`); undefined when it is gone. */
export async function repairDirQuota(tv: TkvVolume, ino: bigint, usage: SubtreeUsage): Promise<DirQuotaRecord | undefined> {
  return modify(tv, ino, (q) => (q ? { ...q, usedSpace: usage.space, usedInodes: usage.inodes } : null));
}

/** `juicefs quota delete` of a directory quota: the key goes, nothing else. */
export async function deleteDirQuota(tv: TkvVolume, ino: bigint): Promise<boolean> {
  const key = tv.keys.dirQuota(ino);
  return tv.engine.txn(async (t) => {
    if (!(await t.get(key))) return false;
    t.delete(key);
    return true;
  });
}

/** Every `QD` record of the volume, in key order. */
export async function listDirQuotas(tv: TkvVolume): Promise<DirQuotaRecord[]> {
  const start = Buffer.concat([tv.keys.p, Buffer.from('QD', 'latin1')]);
  const end = Buffer.concat([tv.keys.p, Buffer.from('QE', 'latin1')]);
  const out: DirQuotaRecord[] = [];
  for await (const { key, value } of tv.engine.scan(start, end, { pageSize: BATCH })) {
    const k = Buffer.from(key);
    if (k.length !== start.length + 8) throw new CorruptMetadataError(hexKey(k), 'dir quota key is not QD + 8-byte inode');
    out.push({ inode: k.readBigUInt64LE(start.length), ...decodeDirQuota(value, hexKey(k)) });
  }
  return out;
}

/** {@link DirQuotaMetadata} over TKV engines; `volume` opens a meta URL's handle (shared with `JuiceFsMetadata`). */
export class TkvDirQuotas extends LayoutDirQuotas<TkvVolume> {
  constructor(volume: (metaUrl: string) => TkvVolume) {
    super(volume, {
      resolveDirectory,
      directoryPath,
      setDirQuota,
      deleteDirQuota,
      listDirQuotas,
      subtreeUsage: (h, inode) => subtreeUsage(h, inode),
      repairDirQuota: async (h, inode, usage) => (await repairDirQuota(h, inode, usage)) !== undefined,
    });
  }

  /** One batch read per engine and {@link BATCH} records; a failed batch marks its records failed. */
  async readDirQuotasMany(items: readonly { volume: VolumeRef; inode: bigint }[]): Promise<Map<string, DirQuotaRecord | null | Error>> {
    const out = new Map<string, DirQuotaRecord | null | Error>();
    const groups = new Map<TkvVolume['engine'], { id: string; inode: bigint; key: Buffer }[]>();
    for (const { volume, inode } of items) {
      try {
        const tv = this.volume(volume.metaUrl);
        const g = groups.get(tv.engine) ?? [];
        g.push({ id: dirQuotaKey(volume.id, inode), inode, key: tv.keys.dirQuota(inode) });
        groups.set(tv.engine, g);
      } catch (err) {
        out.set(dirQuotaKey(volume.id, inode), err as Error);
      }
    }
    await Promise.all(
      [...groups].map(async ([engine, g]) => {
        for (let i = 0; i < g.length; i += BATCH) {
          const part = g.slice(i, i + BATCH);
          try {
            const got = await engine.batchGet(part.map((p) => p.key));
            for (const p of part) {
              const v = got.get(hexKey(p.key));
              try {
                out.set(p.id, v && v.length ? { inode: p.inode, ...decodeDirQuota(v, hexKey(p.key)) } : null);
              } catch (err) {
                out.set(p.id, err as Error);
              }
            }
          } catch (err) {
            for (const p of part) out.set(p.id, err as Error);
          }
        }
      }),
    );
    return out;
  }
}
