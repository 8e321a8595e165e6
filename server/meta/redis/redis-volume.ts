/**
 * One JuiceFS volume on Redis: format, usage counters, setting reads and the Capacity/Inodes
 * compare-and-set. The Redis counterpart of `../tkv/tkv-volume.ts`, with the same options and
 * results, so callers can treat both engines alike. The walk lives in `walk.ts`, the fixture
 * builder in `fixture.ts`.
 *
 * The client passed in is bound to the volume's database (standalone Redis separates volumes by DB
 * number only); on Redis Cluster it is a connection to the node that owns the volume's `{db}` slot
 * and `keys` carries that tag.
 */
import type { Redis } from 'ioredis';
import { hexKey } from '../../engines/kv.js';
import { encodeAttr } from '../tkv/records.js';
import { parseSetting, renderSetting, withLimits, type FormatSpec, type SettingInfo } from '../tkv/setting.js';
import { NotFormattedError, PrefixNotEmptyError, rootAttr, type Counters } from '../tkv/tkv-volume.js';
import { ROOT_INODE, RedisKeys, TRASH_INODE } from './keys.js';
import { CorruptMetadataError, decodeDecimal } from './records.js';

export { CorruptMetadataError, NotFormattedError, PrefixNotEmptyError, type Counters };

/**
 * Raised when formatting a database (or, on a cluster, a `{db}` tag) that already holds keys. A
 * {@link PrefixNotEmptyError}, so code written for TKV (`instanceof PrefixNotEmptyError` to detect an
 * earlier, interrupted format) works unchanged.
 */
export class DatabaseNotEmptyError extends PrefixNotEmptyError {
  constructor(
    readonly where: string,
    readonly sampleKey?: string,
  ) {
    super(Buffer.from(where, 'latin1').toString('hex'));
    this.name = 'DatabaseNotEmptyError';
    this.message = `Redis ${where} already holds keys${sampleKey ? ` (e.g. ${sampleKey})` : ''}; refusing to format over an existing volume`;
  }
}

/** Raised when {@link RedisVolume.setLimits} keeps losing the WATCH race. */
export class SettingConflictError extends Error {
  constructor(attempts: number) {
    super(`setting changed concurrently on each of ${attempts} attempts; giving up`);
    this.name = 'SettingConflictError';
  }
}

/**
 * Standalone format: the emptiness check and the writes in one script, so two concurrent formats
 * (or a JuiceFS client formatting at the same time) cannot both succeed. DBSIZE because a volume is
 * the whole database: any key at all means someone uses it.
 */
const FORMAT_EMPTY_DB = `if redis.call('DBSIZE') ~= 0 then return 0 end
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i]) end
return 1`;

/**
 * Cluster format: the database is shared by every volume of the node, so DBSIZE means nothing; the
 * caller has SCANned the tag first, and the script re-checks atomically the keys it is about to
 * write (a concurrent `juicefs format` writes exactly these).
 */
const FORMAT_TAG = `if redis.call('EXISTS', unpack(KEYS)) ~= 0 then return 0 end
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i]) end
return 1`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Options of {@link RedisVolume.setLimits}. */
export interface SetLimitsOptions {
  /** Attempts after the first on a WATCH conflict (default 20, as TKV). */
  retries?: number;
  /**
   * Awaited after WATCH and the read of `setting`, just before MULTI/EXEC, with the attempt number
   * (0-based). For instrumentation and for tests that change the setting inside the window.
   */
  beforeCommit?: (attempt: number) => Promise<void>;
}

/** A JuiceFS volume's metadata in one Redis database (or one `{db}` tag of a cluster). */
export class RedisVolume {
  /**
   * @param redis client on the volume's database
   * @param keys key layout; default standalone (no prefix). Use `RedisKeys.cluster(db)` on a cluster.
   */
  constructor(
    readonly redis: Redis,
    readonly keys: RedisKeys = new RedisKeys(),
  ) {}

  private hex(key: Buffer): string {
    return hexKey(key);
  }

  private usage?: { used: Buffer; inodes: Buffer; usedHex: string; inodesHex: string };

  /** The two usage counter keys and their hex forms, built once per handle (they never change). */
  private get usageKeys(): { used: Buffer; inodes: Buffer; usedHex: string; inodesHex: string } {
    if (!this.usage) {
      const used = this.keys.usedSpace();
      const inodes = this.keys.totalInodes();
      this.usage = { used, inodes, usedHex: hexKey(used), inodesHex: hexKey(inodes) };
    }
    return this.usage;
  }

  /** Where this volume lives, for messages: `db 5` or `tag {5}`. */
  private where(): string {
    return this.keys.tagged ? `key tag ${this.keys.prefix.toString('latin1')}` : `database ${this.redis.options.db ?? 0}`;
  }

  /**
   * Formats the volume exactly as `juicefs format` does on Redis (`redis.go: doInit`; v0.17:
   * `Init`): `setting`, the root attr `i1` (dir 0777) and, for v1.1 with TrashDays > 0, the trash
   * root attr (dir 0555). **No counters**: JuiceFS's Redis format writes none (unlike TKV's
   * nextInode/nextChunk); `usedSpace`/`totalInodes` appear with the first INCRBY and a missing one
   * reads as 0. Refuses with {@link DatabaseNotEmptyError} if the database (cluster: the tag) holds
   * any key. Takes the same spec as `TkvVolume.format`.
   */
  async format(spec: FormatSpec, now = new Date()): Promise<{ uuid: string; setting: string }> {
    const { json, uuid } = renderSetting(spec);
    const secs = BigInt(Math.floor(now.getTime() / 1000));
    const keys: Buffer[] = [this.keys.setting(), this.keys.attr(ROOT_INODE)];
    const values: Buffer[] = [Buffer.from(json, 'utf8'), encodeAttr(rootAttr(secs, 0o777))];
    if ((spec.version ?? '1.1') !== '0.17' && (spec.trashDays ?? 1) > 0) {
      keys.push(this.keys.attr(TRASH_INODE));
      values.push(encodeAttr(rootAttr(secs, 0o555)));
    }
    let script = FORMAT_EMPTY_DB;
    if (this.keys.tagged) {
      const sample = await this.anyKey();
      if (sample) throw new DatabaseNotEmptyError(this.where(), RedisKeys.show(sample));
      script = FORMAT_TAG;
    }
    const ok = await this.redis.eval(script, keys.length, ...keys, ...values);
    if (ok !== 1) throw new DatabaseNotEmptyError(this.where());
    return { uuid, setting: json };
  }

  /** First key found under the tag (cluster mode), by SCAN: never KEYS, which blocks the node. */
  private async anyKey(): Promise<Buffer | undefined> {
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scanBuffer(cursor, 'MATCH', this.keys.allPattern(), 'COUNT', 1000);
      if (found.length > 0) return found[0];
      cursor = next.toString('latin1');
    } while (cursor !== '0');
    return undefined;
  }

  /** The raw setting text, or throws {@link NotFormattedError}. */
  async readSettingText(): Promise<string> {
    const v = await this.redis.getBuffer(this.keys.setting());
    if (!v) throw new NotFormattedError(this.hex(this.keys.setting()));
    return v.toString('utf8');
  }

  /** The setting, parsed and checked (same parser as TKV: the JSON is identical). */
  async readSetting(): Promise<SettingInfo> {
    return parseSetting(await this.readSettingText(), this.hex(this.keys.setting()));
  }

  /** `usedSpace` and `totalInodes` in one MGET. Missing counters (fresh volume) read as 0. */
  async readCounters(): Promise<Counters> {
    const [c] = await RedisVolume.readCountersMany([this]);
    return c!;
  }

  /**
   * Counters of many volumes: one pipeline per distinct client (one round trip), one MGET per
   * volume inside it. Not one MGET for all: on a cluster node, keys of different `{db}` tags live
   * in different slots and a multi-slot MGET fails with CROSSSLOT.
   */
  static async readCountersMany(volumes: RedisVolume[]): Promise<Counters[]> {
    const out: Counters[] = new Array<Counters>(volumes.length);
    const byClient = new Map<Redis, number[]>();
    volumes.forEach((v, i) => {
      const l = byClient.get(v.redis);
      if (l) l.push(i);
      else byClient.set(v.redis, [i]);
    });
    await Promise.all(
      [...byClient].map(async ([client, idx]) => {
        const p = client.pipeline();
        for (const i of idx) p.mgetBuffer(volumes[i]!.usageKeys.used, volumes[i]!.usageKeys.inodes);
        const res = (await p.exec()) ?? [];
        idx.forEach((i, j) => {
          const [err, val] = res[j] ?? [new Error('pipeline returned no reply'), null];
          if (err) throw err;
          const [used, inodes] = val as Array<Buffer | null>;
          const k = volumes[i]!.usageKeys;
          out[i] = {
            usedSpace: decodeDecimal(used, k.usedHex),
            totalInodes: decodeDecimal(inodes, k.inodesHex),
            ...((used === null || used === undefined) && (inodes === null || inodes === undefined) ? { absent: true } : {}),
          };
        });
      }),
    );
    return out;
  }

  /**
   * Sets `Capacity`/`Inodes` in the setting (0 = unlimited, written explicitly), preserving every
   * other byte (`withLimits`), with WATCH/MULTI/EXEC: if anyone (say `juicefs config`) changes the
   * setting between our read and our write, EXEC is aborted and we re-read and re-apply, so both
   * changes survive. Idempotent: `{changed: false}` when the setting already says so, with nothing
   * written.
   *
   * WATCH is per connection and any EXEC on it clears every watch, so the transaction runs on a
   * dedicated duplicate of the client: on the shared, multiplexed client, another caller's
   * MULTI/EXEC between our WATCH and our EXEC would silently drop our watch and turn the CAS into a
   * blind overwrite.
   */
  async setLimits(limits: { capacity: bigint; inodes: bigint }, opts: SetLimitsOptions = {}): Promise<{ changed: boolean; before: SettingInfo }> {
    if (limits.capacity < 0n || limits.inodes < 0n) throw new Error('limits must be non-negative (0 = unlimited)');
    const key = this.keys.setting();
    const keyHex = this.hex(key);
    const retries = opts.retries ?? 20;
    const conn = this.redis.duplicate();
    try {
      for (let attempt = 0; attempt <= retries; attempt++) {
        await conn.watch(key);
        const v = await conn.getBuffer(key);
        if (!v) throw new NotFormattedError(keyHex);
        const text = v.toString('utf8');
        const before = parseSetting(text, keyHex); // refuses corrupt settings: never freeze on bad data
        const next = withLimits(text, limits);
        parseSetting(next, keyHex);
        if (next === text) {
          await conn.unwatch();
          return { changed: false, before };
        }
        await opts.beforeCommit?.(attempt);
        const res = await conn.multi().set(key, Buffer.from(next, 'utf8')).exec();
        if (res !== null) {
          const err = res[0]?.[0];
          if (err) throw err;
          return { changed: true, before };
        }
        // EXEC aborted by WATCH: someone wrote the setting. Back off a little (as JuiceFS's own
        // retry loop does) and redo the read-modify-write on what they wrote.
        await sleep(Math.random() * (attempt + 1) ** 2);
      }
      throw new SettingConflictError(retries + 1);
    } finally {
      await conn.quit().catch(() => conn.disconnect());
    }
  }
}
