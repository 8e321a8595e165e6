/**
 * JuiceFS Redis key layout (juicefs-metadata.md §1.4, §2.2; `redis.go` key helpers).
 *
 * Unlike TKV there is no binary key encoding: every key is `prefix ++ ascii-name`, inode numbers
 * and chunk indexes are decimal ASCII, and hash fields keyed by inode are decimal too. The prefix is
 * empty on standalone and sentinel Redis (volumes are separated by DB number only) and the hash tag
 * `{<db>}` on Redis Cluster (v1.0+), which pins every key of a volume to one slot so that
 * multi-key commands (MGET, MULTI/EXEC, scripts) stay legal.
 *
 * Keys are built as Buffers, never strings: the only non-ASCII bytes in the layout are entry names,
 * which are hash *fields* of `d<ino>`, and those must be read with the `…Buffer` ioredis commands so
 * that non-UTF-8 names (GBK in JuiceFS's own sample) survive.
 */
import { ROOT_INODE, TRASH_INODE } from '../tkv/keys.js';

export { ROOT_INODE, TRASH_INODE };

/**
 * Counter names as the service thinks of them (the TKV spelling). On Redis the three allocation
 * counters are lower-cased (`redis.go: counterKey`); the rest keep their case.
 */
export type RedisCounterName =
  | 'usedSpace'
  | 'totalInodes'
  | 'nextInode'
  | 'nextChunk'
  | 'nextSession'
  | 'nextTrash'
  | 'lastCleanupSessions'
  | 'lastCleanupFiles'
  | 'nextCleanupSlices'
  | 'lastCleanupTrash'
  | 'aclMaxId'
  | 'krbTokenMaxId';

/** Redis glob metacharacters, escaped when a prefix is used inside a SCAN MATCH pattern. */
const GLOB_SPECIAL = /[*?[\]\\]/g;

/** Per-inode key families that a walk scans for. */
export type InodeKeyLetter = 'i' | 'd' | 'p' | 's' | 'x';

/** Key builder for one JuiceFS volume on Redis, bound to its prefix (`""` or `{db}`). */
export class RedisKeys {
  /** The key prefix bytes (empty on standalone Redis). */
  readonly prefix: Buffer;

  /**
   * @param prefix `""` for standalone/sentinel Redis, `{<db>}` for Redis Cluster (see
   *   {@link RedisKeys.cluster}). Restricted to printable ASCII so that it can be put in a SCAN
   *   MATCH pattern (ioredis types patterns as strings) without any re-encoding.
   */
  constructor(prefix = '') {
    if (!/^[\x21-\x7e]*$/.test(prefix)) throw new Error(`invalid Redis key prefix ${JSON.stringify(prefix)}: printable ASCII only`);
    this.prefix = Buffer.from(prefix, 'latin1');
  }

  /** The keys JuiceFS uses on Redis Cluster for the meta URL `redis://h1,h2/<db>`: prefix `{db}`. */
  static cluster(db: number): RedisKeys {
    if (!Number.isSafeInteger(db) || db < 0) throw new Error(`invalid Redis DB number ${db}`);
    return new RedisKeys(`{${db}}`);
  }

  /** True in cluster mode, where the DB is shared and "the volume" means "the keys of the tag". */
  get tagged(): boolean {
    return this.prefix.length > 0;
  }

  private k(name: string): Buffer {
    return Buffer.concat([this.prefix, Buffer.from(name, 'latin1')]);
  }

  /** `setting`: the Format JSON, same text as on TKV. */
  setting(): Buffer {
    return this.k('setting');
  }

  /** `usedSpace`: decimal bytes (Σ align4K per inode), updated in the same transaction as each change. */
  usedSpace(): Buffer {
    return this.k('usedSpace');
  }

  /** `totalInodes`: decimal inode count (root and trash root excluded). */
  totalInodes(): Buffer {
    return this.k('totalInodes');
  }

  /**
   * Any counter. `nextInode`/`nextChunk`/`nextSession` become `nextinode`/`nextchunk`/`nextsession`
   * and hold the *last value handed out* (TKV holds the next one): see §4.
   */
  counter(name: RedisCounterName): Buffer {
    const lower = name === 'nextInode' || name === 'nextChunk' || name === 'nextSession';
    return this.k(lower ? name.toLowerCase() : name);
  }

  /** `i<ino>`: the attr record, byte-identical to the TKV `A ino I` value. */
  attr(ino: bigint): Buffer {
    return this.k(`i${ino}`);
  }

  /** `d<ino>`: hash of entry name (raw bytes) → 9-byte dentry (type u8, child ino u64 BE). */
  dentries(parent: bigint): Buffer {
    return this.k(`d${parent}`);
  }

  /** `p<ino>`: hash of parent ino (decimal) → link count (decimal), for hard-linked inodes (attr parent 0). */
  parents(ino: bigint): Buffer {
    return this.k(`p${ino}`);
  }

  /** `c<ino>_<indx>`: list of 24-byte slices of one 64 MiB chunk, in RPUSH order. */
  chunk(ino: bigint, index: number): Buffer {
    return this.k(`c${ino}_${index}`);
  }

  /** `s<ino>`: symlink target bytes. */
  symlink(ino: bigint): Buffer {
    return this.k(`s${ino}`);
  }

  /** `x<ino>`: xattr hash. */
  xattrs(ino: bigint): Buffer {
    return this.k(`x${ino}`);
  }

  /** v1.1+ dir stats, one hash per component, field = decimal ino, value = decimal. */
  dirDataLength(): Buffer {
    return this.k('dirDataLength');
  }

  dirUsedSpace(): Buffer {
    return this.k('dirUsedSpace');
  }

  dirUsedInodes(): Buffer {
    return this.k('dirUsedInodes');
  }

  /** v1.1+ dir quota limits: field = decimal ino, value = 16 bytes BE (maxSpace i64, maxInodes i64). */
  dirQuota(): Buffer {
    return this.k('dirQuota');
  }

  /** v1.1+ dir quota usage (decimal). HEAD iterates this hash to load quotas: always write all three. */
  dirQuotaUsedSpace(): Buffer {
    return this.k('dirQuotaUsedSpace');
  }

  dirQuotaUsedInodes(): Buffer {
    return this.k('dirQuotaUsedInodes');
  }

  /** `allSessions`: zset of session ids (v1.0+). */
  allSessions(): Buffer {
    return this.k('allSessions');
  }

  /**
   * `sessions`: the ≤ v0.17 heartbeat zset. JuiceFS never prefixes this legacy key, so it only
   * means anything on standalone Redis (v0.17 had no cluster support).
   */
  legacySessions(): Buffer {
    return Buffer.from('sessions', 'latin1');
  }

  /** `session<sid>`: set of sustained inodes (unlinked while still open, still counted in usage). */
  sustained(sid: bigint | string): Buffer {
    return this.k(`session${sid}`);
  }

  /** `delfiles`: zset `<ino>:<length>` of deleted files awaiting data cleanup (already uncounted). */
  delfiles(): Buffer {
    return this.k('delfiles');
  }

  /** Decimal hash field for an inode (dir stats, quotas, parents). */
  static inoField(ino: bigint): Buffer {
    return Buffer.from(ino.toString(), 'latin1');
  }

  /** The prefix with glob metacharacters escaped, for SCAN MATCH. */
  private globPrefix(): string {
    return this.prefix.toString('latin1').replace(GLOB_SPECIAL, (c) => `\\${c}`);
  }

  /**
   * SCAN MATCH pattern for one per-inode family, e.g. `d[0-9]*`. The digit class matters: a plain
   * `d*` would also match `delfiles`, `detachedNodes`, `delSlices` and the `dir…` hashes.
   */
  pattern(letter: InodeKeyLetter): string {
    return `${this.globPrefix()}${letter}[0-9]*`;
  }

  /** SCAN MATCH pattern for every key of the volume (cluster mode: the tag; standalone: all). */
  allPattern(): string {
    return `${this.globPrefix()}*`;
  }

  /**
   * The inode of a `<letter><decimal>` key (prefix included), or undefined if the key is not
   * exactly that shape (the MATCH pattern also lets through, say, `i12abc`).
   */
  parseInoKey(key: Buffer, letter: InodeKeyLetter): bigint | undefined {
    const p = this.prefix.length;
    if (key.length < p + 2 || key.length > p + 21 || !key.subarray(0, p).equals(this.prefix) || key[p] !== letter.charCodeAt(0)) return undefined;
    const digits = key.toString('latin1', p + 1);
    if (!/^(0|[1-9][0-9]*)$/.test(digits)) return undefined;
    const ino = BigInt(digits);
    return ino < 1n << 64n ? ino : undefined;
  }

  /** Printable form of a key for errors (ASCII as is, other bytes as `\xNN`). */
  static show(key: Buffer): string {
    let s = '';
    for (const b of key) s += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
    return s;
  }
}

/** The trash root's hash field / key suffix as JuiceFS prints it: 9223372032828243968. */
export const TRASH_INODE_DECIMAL = TRASH_INODE.toString();
