/**
 * The few value encodings that differ on Redis (juicefs-metadata.md §2.2, §4, §7). Everything
 * binary that Redis shares with TKV (attr records, dentries, slices) is reused from
 * `../tkv/records.ts`, not re-implemented: the bytes are identical.
 *
 * What differs: counters, dir stats, quota usage and hard-link counts are decimal ASCII (Redis
 * INCRBY/HINCRBY), and the dir quota limit value is 16 bytes (limits only; usage lives in two
 * separate hashes), not the 32-byte TKV record.
 */
import { CorruptMetadataError } from '../tkv/records.js';

export { CorruptMetadataError };

/** Encodes a decimal counter/stat value as Redis stores it after INCRBY. */
export function encodeDecimal(n: bigint): Buffer {
  return Buffer.from(n.toString(), 'latin1');
}

/**
 * Decodes a decimal value (missing = 0, as JuiceFS treats an absent counter). Anything that is not
 * a 64-bit signed decimal integer is corrupt: Redis INCRBY itself would refuse it.
 */
export function decodeDecimal(v: Buffer | string | null | undefined, keyHex: string): bigint {
  if (v === null || v === undefined) return 0n;
  const s = typeof v === 'string' ? v : v.toString('latin1');
  if (!/^-?(0|[1-9][0-9]{0,18})$/.test(s)) throw new CorruptMetadataError(keyHex, `value ${JSON.stringify(s.slice(0, 40))} is not a decimal integer`);
  const n = BigInt(s);
  if (n > 0x7fffffffffffffffn || n < -0x8000000000000000n) throw new CorruptMetadataError(keyHex, 'decimal value overflows int64');
  return n;
}

/** Dir quota limits as stored in the Redis `dirQuota` hash (≤ 0 = unlimited). */
export interface RedisQuotaLimits {
  maxSpace: bigint;
  maxInodes: bigint;
}

/** 16 bytes BE: maxSpace i64, maxInodes i64 (`redis.go: packQuota`). */
export function encodeQuotaLimits(q: RedisQuotaLimits): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigInt64BE(q.maxSpace, 0);
  b.writeBigInt64BE(q.maxInodes, 8);
  return b;
}

export function decodeQuotaLimits(v: Uint8Array, keyHex: string): RedisQuotaLimits {
  if (v.length !== 16) throw new CorruptMetadataError(keyHex, `dir quota is ${v.length} bytes, expected 16`);
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return { maxSpace: b.readBigInt64BE(0), maxInodes: b.readBigInt64BE(8) };
}
