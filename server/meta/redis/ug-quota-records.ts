/**
 * JuiceFS 1.4 user and group quotas on the Redis layout (`redis.go: getQuotaKeys, doSetQuota,
 * doDelQuota`): the hashes `userQuota` / `groupQuota` (16 bytes BE maxSpace, maxInodes) with
 * `…UsedSpace` and `…UsedInodes` (decimal), keyed by decimal uid/gid, as checked against the real
 * `juicefs quota set --uid`. A new record gets −1/−1 and usage 0 in one MULTI; limits change
 * under WATCH of the limits hash; delete writes −1/−1 and keeps the usage.
 */
import type { Redis } from 'ioredis';
import { hexKey } from '../../engines/kv.js';
import { capabilitiesOf } from '../quota-capabilities.js';
import { NativeQuotaUnsupportedError, userGroupQuotaKey, type DirQuotaLimits, type DirQuotaRecord, type UserGroupKind, type UserGroupQuotaMetadata, type VolumeRef } from '../volume-metadata.js';
import { decodeDecimal, decodeQuotaLimits, encodeQuotaLimits } from './records.js';
import type { RedisVolume } from './redis-volume.js';

/** The three hashes of a kind, with the volume's key prefix. */
export function userGroupHashes(rv: RedisVolume, kind: UserGroupKind): { limits: Buffer; space: Buffer; inodes: Buffer } {
  const k = (s: string) => Buffer.concat([rv.keys.prefix, Buffer.from(`${kind}Quota${s}`, 'latin1')]);
  return { limits: k(''), space: k('UsedSpace'), inodes: k('UsedInodes') };
}

function recordOf(id: bigint, h: { limits: Buffer; space: Buffer; inodes: Buffer }, l: Buffer | null, u: Buffer | null, n: Buffer | null): DirQuotaRecord | null {
  if (!l) return null;
  return { inode: id, ...decodeQuotaLimits(l, hexKey(h.limits)), usedSpace: decodeDecimal(u, hexKey(h.space)), usedInodes: decodeDecimal(n, hexKey(h.inodes)) };
}

async function read(rv: RedisVolume, kind: UserGroupKind, id: bigint): Promise<DirQuotaRecord | null> {
  const h = userGroupHashes(rv, kind);
  const f = id.toString();
  const res = (await rv.redis.pipeline().hgetBuffer(h.limits, f).hgetBuffer(h.space, f).hgetBuffer(h.inodes, f).exec()) ?? [];
  for (const [err] of res) if (err) throw err;
  return recordOf(id, h, (res[0]?.[1] as Buffer | null) ?? null, (res[1]?.[1] as Buffer | null) ?? null, (res[2]?.[1] as Buffer | null) ?? null);
}

/** Writes limits under WATCH on a connection of its own; `change` returns the new limits or null for none. */
async function writeLimits(
  rv: RedisVolume,
  kind: UserGroupKind,
  id: bigint,
  change: (cur: { maxSpace: bigint; maxInodes: bigint } | null) => { maxSpace: bigint; maxInodes: bigint } | null,
): Promise<boolean> {
  const h = userGroupHashes(rv, kind);
  const f = id.toString();
  const conn = rv.redis.duplicate();
  try {
    for (let attempt = 0; attempt < 20; attempt++) {
      await conn.watch(h.limits);
      const raw = await conn.hgetBuffer(h.limits, f);
      const cur = raw ? decodeQuotaLimits(raw, hexKey(h.limits)) : null;
      const next = change(cur);
      if (!next) {
        await conn.unwatch();
        return cur !== null;
      }
      const m = conn.multi().hset(h.limits, f, encodeQuotaLimits(next));
      if (!cur) m.hset(h.space, f, '0').hset(h.inodes, f, '0');
      const res = await m.exec();
      if (res !== null) {
        for (const [err] of res) if (err) throw err;
        return cur !== null;
      }
    }
    throw new Error('user/group quota limits changed concurrently on every attempt; giving up');
  } finally {
    await conn.quit().catch(() => conn.disconnect());
  }
}

/** {@link UserGroupQuotaMetadata} over Redis. */
export class RedisUserGroupQuotas implements UserGroupQuotaMetadata {
  constructor(private readonly volume: (metaUrl: string) => RedisVolume) {}

  async setUserGroupQuota(v: VolumeRef, kind: UserGroupKind, id: bigint, limits: DirQuotaLimits): Promise<{ created: boolean; record: DirQuotaRecord }> {
    const rv = this.volume(v.metaUrl);
    const caps = capabilitiesOf(await rv.readSettingText());
    if (!caps.userGroupQuotas) throw new NativeQuotaUnsupportedError(caps.userGroupReason!);
    const existed = await writeLimits(rv, kind, id, (cur) => {
      const base = cur ?? { maxSpace: -1n, maxInodes: -1n };
      const next = { maxSpace: limits.maxSpace ?? base.maxSpace, maxInodes: limits.maxInodes ?? base.maxInodes };
      return cur && cur.maxSpace === next.maxSpace && cur.maxInodes === next.maxInodes ? null : next;
    });
    const record = await read(rv, kind, id);
    if (!record) throw new Error(`${kind} quota ${id} vanished while it was being set`);
    return { created: !existed, record };
  }

  async deleteUserGroupQuota(v: VolumeRef, kind: UserGroupKind, id: bigint): Promise<{ deleted: boolean }> {
    const existed = await writeLimits(this.volume(v.metaUrl), kind, id, (cur) => (cur && (cur.maxSpace !== -1n || cur.maxInodes !== -1n) ? { maxSpace: -1n, maxInodes: -1n } : null));
    return { deleted: existed };
  }

  async listUserGroupQuotas(v: VolumeRef, kind: UserGroupKind): Promise<DirQuotaRecord[]> {
    const rv = this.volume(v.metaUrl);
    const h = userGroupHashes(rv, kind);
    const ids = new Map<bigint, Buffer>();
    let cursor = '0';
    do {
      const [next, els] = await rv.redis.hscanBuffer(h.limits, cursor, 'COUNT', 1000);
      for (let i = 0; i + 1 < els.length; i += 2) if (/^(0|[1-9][0-9]{0,19})$/.test(els[i]!.toString('latin1'))) ids.set(BigInt(els[i]!.toString('latin1')), els[i + 1]!);
      cursor = next.toString('latin1');
    } while (cursor !== '0');
    const out: DirQuotaRecord[] = [];
    for (const [id, l] of ids) {
      const f = id.toString();
      const [u, n] = await Promise.all([rv.redis.hgetBuffer(h.space, f), rv.redis.hgetBuffer(h.inodes, f)]);
      out.push(recordOf(id, h, l, u, n)!);
    }
    return out.sort((a, b) => (a.inode < b.inode ? -1 : 1));
  }

  /** One pipeline per database. */
  async readUserGroupQuotasMany(items: readonly { volume: VolumeRef; kind: UserGroupKind; id: bigint }[]): Promise<Map<string, DirQuotaRecord | null | Error>> {
    const out = new Map<string, DirQuotaRecord | null | Error>();
    const groups = new Map<Redis, { key: string; id: bigint; h: ReturnType<typeof userGroupHashes> }[]>();
    for (const it of items) {
      const key = userGroupQuotaKey(it.volume.id, it.kind, it.id);
      try {
        const rv = this.volume(it.volume.metaUrl);
        const g = groups.get(rv.redis) ?? [];
        g.push({ key, id: it.id, h: userGroupHashes(rv, it.kind) });
        groups.set(rv.redis, g);
      } catch (err) {
        out.set(key, err as Error);
      }
    }
    for (const [client, g] of groups) {
      const p = client.pipeline();
      for (const x of g) p.hgetBuffer(x.h.limits, x.id.toString()).hgetBuffer(x.h.space, x.id.toString()).hgetBuffer(x.h.inodes, x.id.toString());
      const res = await p.exec().catch((err: Error) => err);
      g.forEach((x, j) => {
        if (res instanceof Error || !res) return void out.set(x.key, res ?? new Error('no reply'));
        const [a, b, c] = [res[3 * j], res[3 * j + 1], res[3 * j + 2]];
        const err = a?.[0] ?? b?.[0] ?? c?.[0];
        if (err) return void out.set(x.key, err);
        try {
          out.set(x.key, recordOf(x.id, x.h, (a?.[1] as Buffer | null) ?? null, (b?.[1] as Buffer | null) ?? null, (c?.[1] as Buffer | null) ?? null));
        } catch (e) {
          out.set(x.key, e as Error);
        }
      });
    }
    return out;
  }
}
