/**
 * JuiceFS 1.4 user and group quotas on the TKV layout (juicefs-metadata.md §2.1, §7.4; `tkv.go:
 * getQuotaKey, doSetQuota, doDelQuota`): `P "QU" uid:BE8` / `P "QG" gid:BE8` (the id is big-endian,
 * unlike a directory quota's inode) → the 32-byte record of directory quotas. Limits change in a
 * retried read-modify-write that keeps the usage clients keep; a new record starts at −1/−1 with
 * usage 0 (JuiceFS fills usage in only by its global scan when UserGroupQuota is first enabled);
 * delete lifts the limits to −1 and keeps the usage.
 */
import { hexKey } from '../../engines/kv.js';
import { capabilitiesOf } from '../quota-capabilities.js';
import { NativeQuotaUnsupportedError, userGroupQuotaKey, type DirQuotaLimits, type DirQuotaRecord, type UserGroupKind, type UserGroupQuotaMetadata, type VolumeRef } from '../volume-metadata.js';
import { CorruptMetadataError, decodeDirQuota, encodeDirQuota } from './records.js';
import type { TkvVolume } from './tkv-volume.js';

/** `P "QU" uid:BE8` or `P "QG" gid:BE8`. */
export function userGroupKey(tv: TkvVolume, kind: UserGroupKind, id: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(id);
  return Buffer.concat([tv.keys.p, Buffer.from(kind === 'user' ? 'QU' : 'QG', 'latin1'), b]);
}

async function modify(
  tv: TkvVolume,
  kind: UserGroupKind,
  id: bigint,
  change: (q: DirQuotaRecord | undefined) => DirQuotaRecord | null,
): Promise<{ before: DirQuotaRecord | undefined; after: DirQuotaRecord | undefined }> {
  const key = userGroupKey(tv, kind, id);
  return tv.engine.txn(
    async (t) => {
      const v = await t.get(key);
      const before = v && v.length ? { inode: id, ...decodeDirQuota(v, hexKey(key)) } : undefined;
      const next = change(before);
      if (next) t.put(key, encodeDirQuota(next));
      return { before, after: next ?? before };
    },
    { retries: 20 },
  );
}

/** {@link UserGroupQuotaMetadata} over TKV engines. */
export class TkvUserGroupQuotas implements UserGroupQuotaMetadata {
  constructor(private readonly volume: (metaUrl: string) => TkvVolume) {}

  async setUserGroupQuota(v: VolumeRef, kind: UserGroupKind, id: bigint, limits: DirQuotaLimits): Promise<{ created: boolean; record: DirQuotaRecord }> {
    const tv = this.volume(v.metaUrl);
    const caps = capabilitiesOf(await tv.readSettingText());
    if (!caps.userGroupQuotas) throw new NativeQuotaUnsupportedError(caps.userGroupReason!);
    const r = await modify(tv, kind, id, (q) => {
      const base = q ?? { inode: id, maxSpace: -1n, maxInodes: -1n, usedSpace: 0n, usedInodes: 0n };
      const next = { ...base, maxSpace: limits.maxSpace ?? base.maxSpace, maxInodes: limits.maxInodes ?? base.maxInodes };
      return q && q.maxSpace === next.maxSpace && q.maxInodes === next.maxInodes ? null : next;
    });
    return { created: !r.before, record: r.after! };
  }

  async deleteUserGroupQuota(v: VolumeRef, kind: UserGroupKind, id: bigint): Promise<{ deleted: boolean }> {
    const r = await modify(this.volume(v.metaUrl), kind, id, (q) => (q && (q.maxSpace !== -1n || q.maxInodes !== -1n) ? { ...q, maxSpace: -1n, maxInodes: -1n } : null));
    return { deleted: !!r.before };
  }

  async listUserGroupQuotas(v: VolumeRef, kind: UserGroupKind): Promise<DirQuotaRecord[]> {
    const tv = this.volume(v.metaUrl);
    const start = Buffer.concat([tv.keys.p, Buffer.from(kind === 'user' ? 'QU' : 'QG', 'latin1')]);
    const end = Buffer.concat([tv.keys.p, Buffer.from(kind === 'user' ? 'QV' : 'QH', 'latin1')]);
    const out: DirQuotaRecord[] = [];
    for await (const { key, value } of tv.engine.scan(start, end, { pageSize: 1000 })) {
      const k = Buffer.from(key);
      if (k.length !== start.length + 8) throw new CorruptMetadataError(hexKey(k), 'user/group quota key is not QU/QG + 8-byte id');
      out.push({ inode: k.readBigUInt64BE(start.length), ...decodeDirQuota(value, hexKey(k)) });
    }
    return out;
  }

  /** One batch read per engine and 1,000 records. */
  async readUserGroupQuotasMany(items: readonly { volume: VolumeRef; kind: UserGroupKind; id: bigint }[]): Promise<Map<string, DirQuotaRecord | null | Error>> {
    const out = new Map<string, DirQuotaRecord | null | Error>();
    const groups = new Map<TkvVolume['engine'], { key: string; id: bigint; k: Buffer }[]>();
    for (const it of items) {
      const key = userGroupQuotaKey(it.volume.id, it.kind, it.id);
      try {
        const tv = this.volume(it.volume.metaUrl);
        const g = groups.get(tv.engine) ?? [];
        g.push({ key, id: it.id, k: userGroupKey(tv, it.kind, it.id) });
        groups.set(tv.engine, g);
      } catch (err) {
        out.set(key, err as Error);
      }
    }
    for (const [engine, g] of groups) {
      for (let i = 0; i < g.length; i += 1000) {
        const part = g.slice(i, i + 1000);
        const got = await engine.batchGet(part.map((p) => p.k)).catch((err: Error) => err);
        for (const p of part) {
          if (got instanceof Error) out.set(p.key, got);
          else {
            const v = got.get(hexKey(p.k));
            try {
              out.set(p.key, v && v.length ? { inode: p.id, ...decodeDirQuota(v, hexKey(p.k)) } : null);
            } catch (err) {
              out.set(p.key, err as Error);
            }
          }
        }
      }
    }
    return out;
  }
}
