/**
 * JuiceFS directory quotas on the Redis layout (juicefs-metadata.md §2.2, §7; `redis.go:
 * doGetQuota, doSetQuota, doDelQuota, doLoadQuotas, doSyncDirStat`), written the way `juicefs
 * quota` writes them:
 *
 * - three hashes keyed by decimal inode: `dirQuota` (16 bytes BE maxSpace, maxInodes),
 *   `dirQuotaUsedSpace` and `dirQuotaUsedInodes` (decimal). HEAD loads quotas by iterating the
 *   used-inodes hash and v1.1 the limits hash, so a new record always gets all three;
 * - limits and usage live in different hashes, so changing limits never touches the usage the
 *   clients HINCRBY. The limits' read-modify-write runs under WATCH (the limits hash and the
 *   directory's attr, as JuiceFS watches it) on a connection of its own (see `RedisVolume.setLimits`);
 * - a new record gets −1 for a limit not given, usage 0, then the subtree usage (as `quota set`);
 *   computing it fills in missing dir stats with HSETNX (never over a client's figures);
 * - delete HDELs the field from the three hashes in one MULTI.
 */
import type { Redis } from 'ioredis';
import { hexKey } from '../../engines/kv.js';
import { MAX_PATH_DEPTH, joinDirPath, splitDirPath } from '../dir-path.js';
import { LayoutDirQuotas } from '../dir-quota-adapter.js';
import { dirQuotaKey, type DirQuotaLimits, type DirQuotaRecord, type SubtreeUsage, type VolumeRef } from '../volume-metadata.js';
import { TYPE_DIR, attrSummary, decodeDentry } from '../tkv/records.js';
import { ROOT_INODE, RedisKeys, TRASH_INODE } from './keys.js';
import { decodeDecimal, decodeQuotaLimits, encodeQuotaLimits } from './records.js';
import type { RedisVolume } from './redis-volume.js';
import { run, subtreeUsage } from './quota-usage.js';

/** Items per pipeline (attrs per MGET, directories per HVALS round trip, records per read). */
const BATCH = 1000;

/** A record from its three hash values; no limits field = no record. */
function recordOf(ino: bigint, k: RedisKeys, limits: Buffer | null, used: Buffer | null, inodes: Buffer | null): DirQuotaRecord | null {
  if (!limits) return null;
  const l = decodeQuotaLimits(limits, hexKey(k.dirQuota()));
  return { inode: ino, ...l, usedSpace: decodeDecimal(used, hexKey(k.dirQuotaUsedSpace())), usedInodes: decodeDecimal(inodes, hexKey(k.dirQuotaUsedInodes())) };
}

/** One record, or null. */
export async function readDirQuota(rv: RedisVolume, ino: bigint): Promise<DirQuotaRecord | null> {
  const f = RedisKeys.inoField(ino);
  const [l, u, n] = (await run(rv.redis.pipeline().hgetBuffer(rv.keys.dirQuota(), f).hgetBuffer(rv.keys.dirQuotaUsedSpace(), f).hgetBuffer(rv.keys.dirQuotaUsedInodes(), f))) as (Buffer | null)[];
  return recordOf(ino, rv.keys, l ?? null, u ?? null, n ?? null);
}

/** The inode of a directory path, or undefined. */
export async function resolveDirectory(rv: RedisVolume, path: Buffer): Promise<bigint | undefined> {
  const parts = splitDirPath(path);
  if (!parts) return undefined;
  let ino = ROOT_INODE;
  for (const name of parts) {
    const v = await rv.redis.hgetBuffer(rv.keys.dentries(ino), name);
    if (!v) return undefined;
    const d = decodeDentry(v, hexKey(rv.keys.dentries(ino)));
    if (d.type !== TYPE_DIR) return undefined;
    ino = d.ino;
  }
  return ino;
}

/** The path of a directory from its attr's parent and that parent's dentry hash. */
export async function directoryPath(rv: RedisVolume, ino: bigint): Promise<Buffer | undefined> {
  const names: Buffer[] = [];
  for (let depth = 0; ino !== ROOT_INODE; depth++) {
    if (depth > MAX_PATH_DEPTH || ino >= TRASH_INODE) return undefined;
    const a = await rv.redis.getBuffer(rv.keys.attr(ino));
    if (!a) return undefined;
    const parent = attrSummary(a, hexKey(rv.keys.attr(ino))).parent;
    if (parent === 0n) return undefined;
    let cursor = '0';
    let found: Buffer | undefined;
    do {
      const [next, els] = await rv.redis.hscanBuffer(rv.keys.dentries(parent), cursor, 'COUNT', BATCH);
      for (let i = 0; i + 1 < els.length && !found; i += 2) if (els[i + 1]!.length === 9 && els[i + 1]!.readBigUInt64BE(1) === ino) found = els[i];
      cursor = next.toString('latin1');
    } while (cursor !== '0' && !found);
    if (!found) return undefined;
    names.unshift(found);
    ino = parent;
  }
  return joinDirPath(names);
}

/** The limits' read-modify-write under WATCH, on a connection of its own; retried when EXEC aborts. */
async function changeLimits(rv: RedisVolume, ino: bigint, limits: DirQuotaLimits): Promise<boolean> {
  const k = rv.keys;
  const f = RedisKeys.inoField(ino);
  const conn = rv.redis.duplicate();
  try {
    for (let attempt = 0; attempt < 20; attempt++) {
      await conn.watch(k.dirQuota(), k.attr(ino));
      const cur = await conn.hgetBuffer(k.dirQuota(), f);
      const base = cur ? decodeQuotaLimits(cur, hexKey(k.dirQuota())) : { maxSpace: -1n, maxInodes: -1n };
      const next = { maxSpace: limits.maxSpace ?? base.maxSpace, maxInodes: limits.maxInodes ?? base.maxInodes };
      if (cur && next.maxSpace === base.maxSpace && next.maxInodes === base.maxInodes) {
        await conn.unwatch();
        return false;
      }
      const m = conn.multi().hset(k.dirQuota(), f, encodeQuotaLimits(next));
      if (!cur) m.hset(k.dirQuotaUsedSpace(), f, '0').hset(k.dirQuotaUsedInodes(), f, '0');
      const res = await m.exec();
      if (res !== null) {
        for (const [err] of res) if (err) throw err;
        return !cur;
      }
      await new Promise((r) => setTimeout(r, Math.random() * (attempt + 1) ** 2));
    }
    throw new Error('directory quota limits changed concurrently on every attempt; giving up');
  } finally {
    await conn.quit().catch(() => conn.disconnect());
  }
}

/** `juicefs quota set`: limits on a new or existing record; a new one gets its usage computed. */
export async function setDirQuota(rv: RedisVolume, ino: bigint, limits: DirQuotaLimits): Promise<{ created: boolean; record: DirQuotaRecord }> {
  const created = await changeLimits(rv, ino, limits);
  if (created) await repairDirQuota(rv, ino, await subtreeUsage(rv, ino, { syncDirStats: true }));
  const rec = await readDirQuota(rv, ino);
  if (!rec) throw new Error(`directory quota of inode ${ino} vanished while it was being set`);
  return { created, record: rec };
}

/** Writes the used values of an existing record (`quota check --repair`); false when it is gone. */
export async function repairDirQuota(rv: RedisVolume, ino: bigint, usage: SubtreeUsage): Promise<boolean> {
  const k = rv.keys;
  const f = RedisKeys.inoField(ino);
  // Only where the limits field exists, atomically: a record deleted meanwhile is not revived.
  const script = `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]); redis.call('HSET', KEYS[3], ARGV[1], ARGV[3]); return 1`;
  const ok = await rv.redis.eval(script, 3, k.dirQuota(), k.dirQuotaUsedSpace(), k.dirQuotaUsedInodes(), f, usage.space.toString(), usage.inodes.toString());
  return ok === 1;
}

/** `juicefs quota delete`: the field out of the three hashes, in one MULTI. */
export async function deleteDirQuota(rv: RedisVolume, ino: bigint): Promise<boolean> {
  const f = RedisKeys.inoField(ino);
  const res = (await rv.redis.multi().hdel(rv.keys.dirQuota(), f).hdel(rv.keys.dirQuotaUsedSpace(), f).hdel(rv.keys.dirQuotaUsedInodes(), f).exec()) ?? [];
  for (const [err] of res) if (err) throw err;
  return res[0]?.[1] === 1;
}

/** Every record of the volume (fields of the limits hash), by HSCAN, never HGETALL on a big hash. */
export async function listDirQuotas(rv: RedisVolume): Promise<DirQuotaRecord[]> {
  const k = rv.keys;
  const byIno = new Map<bigint, Buffer>(); // HSCAN may return a field twice while Redis rehashes
  let cursor = '0';
  do {
    const [next, els] = await rv.redis.hscanBuffer(k.dirQuota(), cursor, 'COUNT', BATCH);
    for (let i = 0; i + 1 < els.length; i += 2) {
      const s = els[i]!.toString('latin1');
      if (/^[1-9][0-9]{0,19}$/.test(s)) byIno.set(BigInt(s), els[i + 1]!);
    }
    cursor = next.toString('latin1');
  } while (cursor !== '0');
  const found = [...byIno].map(([ino, limits]) => ({ ino, limits }));
  const out: DirQuotaRecord[] = [];
  for (let i = 0; i < found.length; i += BATCH) {
    const part = found.slice(i, i + BATCH);
    const fields = part.map((x) => RedisKeys.inoField(x.ino));
    const [used, inodes] = (await run(
      rv.redis
        .pipeline()
        .hmgetBuffer(k.dirQuotaUsedSpace(), ...fields)
        .hmgetBuffer(k.dirQuotaUsedInodes(), ...fields),
    )) as (Buffer | null)[][];
    part.forEach((x, j) => out.push(recordOf(x.ino, k, x.limits, used![j] ?? null, inodes![j] ?? null)!));
  }
  return out.sort((a, b) => (a.inode < b.inode ? -1 : 1));
}

/** {@link DirQuotaMetadata} over Redis; `volume` opens a meta URL's handle (shared with `RedisMetadata`). */
export class RedisDirQuotas extends LayoutDirQuotas<RedisVolume> {
  constructor(volume: (metaUrl: string) => RedisVolume) {
    super(volume, { resolveDirectory, directoryPath, setDirQuota, deleteDirQuota, listDirQuotas, subtreeUsage: (h, inode) => subtreeUsage(h, inode), repairDirQuota: repairDirQuota });
  }

  /** One pipeline per database (three HGETs a record); a failed pipeline marks its records failed. */
  async readDirQuotasMany(items: readonly { volume: VolumeRef; inode: bigint }[]): Promise<Map<string, DirQuotaRecord | null | Error>> {
    const out = new Map<string, DirQuotaRecord | null | Error>();
    const groups = new Map<Redis, { id: string; inode: bigint; rv: RedisVolume }[]>();
    for (const { volume, inode } of items) {
      try {
        const rv = this.volume(volume.metaUrl);
        const g = groups.get(rv.redis) ?? [];
        g.push({ id: dirQuotaKey(volume.id, inode), inode, rv });
        groups.set(rv.redis, g);
      } catch (err) {
        out.set(dirQuotaKey(volume.id, inode), err as Error);
      }
    }
    await Promise.all(
      [...groups].map(async ([client, g]) => {
        for (let i = 0; i < g.length; i += BATCH) {
          const part = g.slice(i, i + BATCH);
          const p = client.pipeline();
          for (const x of part) {
            const f = RedisKeys.inoField(x.inode);
            p.hgetBuffer(x.rv.keys.dirQuota(), f).hgetBuffer(x.rv.keys.dirQuotaUsedSpace(), f).hgetBuffer(x.rv.keys.dirQuotaUsedInodes(), f);
          }
          try {
            const res = (await p.exec()) ?? [];
            part.forEach((x, j) => {
              const [a, b, c] = [res[3 * j], res[3 * j + 1], res[3 * j + 2]];
              const err = a?.[0] ?? b?.[0] ?? c?.[0];
              if (err) return void out.set(x.id, err);
              try {
                out.set(x.id, recordOf(x.inode, x.rv.keys, (a?.[1] as Buffer | null) ?? null, (b?.[1] as Buffer | null) ?? null, (c?.[1] as Buffer | null) ?? null));
              } catch (e) {
                out.set(x.id, e as Error);
              }
            });
          } catch (err) {
            for (const x of part) out.set(x.id, err as Error);
          }
        }
      }),
    );
    return out;
  }
}
