/**
 * One JuiceFS volume on an ordered KV engine: format, usage counters, setting reads and the
 * Capacity/Inodes compare-and-set. The walk lives in `walk.ts`, the fixture builder in `fixture.ts`.
 */
import { hexKey, type KvEngine } from '../../engines/kv.js';
import { ROOT_INODE, TRASH_INODE, VolumeKeys } from './keys.js';
import { CorruptMetadataError, TYPE_DIR, decodeCounter, encodeAttr, encodeCounter, type Attr } from './records.js';
import { parseSetting, renderSetting, withLimits, type FormatSpec, type SettingInfo } from './setting.js';

/** Usage as the volume's counters report it. */
export interface Counters {
  usedSpace: bigint;
  totalInodes: bigint;
  /**
   * True when neither counter key exists: a volume nothing was ever written to, or one whose
   * metadata is gone (a deleted prefix, a Redis that restarted empty). Callers tell them apart
   * by the setting, so a vanished volume never reads as an empty one.
   */
  absent?: boolean;
}

/** Raised when formatting a prefix that already holds keys. */
export class PrefixNotEmptyError extends Error {
  constructor(readonly prefixHex: string) {
    super(`metadata prefix ${prefixHex} already holds keys; refusing to format over an existing volume`);
    this.name = 'PrefixNotEmptyError';
  }
}

/** Raised when a volume has no `setting` key. */
export class NotFormattedError extends Error {
  constructor(readonly keyHex: string) {
    super(`no JuiceFS setting at key ${keyHex}: the prefix is not a formatted volume`);
    this.name = 'NotFormattedError';
  }
}

/** The attr `juicefs format` writes for the root (and, mode 0555, for the trash root). */
export function rootAttr(now: bigint, mode: number): Attr {
  return {
    flags: 0,
    type: TYPE_DIR,
    mode,
    uid: 0,
    gid: 0,
    atime: now,
    atimensec: 0,
    mtime: now,
    mtimensec: 0,
    ctime: now,
    ctimensec: 0,
    nlink: 2,
    length: 4096n,
    rdev: 0,
    parent: ROOT_INODE,
  };
}

/** A volume's two usage counter keys, with the hex forms `batchGet` results are keyed by. */
export interface UsageKeys {
  used: Buffer;
  inodes: Buffer;
  usedHex: string;
  inodesHex: string;
}

/** A volume's metadata under one prefix of one engine. */
export class TkvVolume {
  readonly keys: VolumeKeys;
  private usage?: UsageKeys;
  private settingAt?: { key: Buffer; hex: string };

  constructor(
    readonly engine: KvEngine,
    prefixBytes: Uint8Array,
  ) {
    this.keys = new VolumeKeys(prefixBytes);
  }

  /**
   * Formats the volume as `juicefs format` does (§5.4), in one transaction that first checks the
   * prefix is empty: setting, root attr, trash attr (v1.1 with TrashDays > 0), nextInode = 2,
   * nextChunk = 1 (and nextSession = 1 for v0.17). Returns the new UUID.
   */
  async format(spec: FormatSpec, now = new Date()): Promise<{ uuid: string; setting: string }> {
    const { json, uuid } = renderSetting(spec);
    const secs = BigInt(Math.floor(now.getTime() / 1000));
    const [start, end] = this.keys.range();
    await this.engine.txn(async (t) => {
      for await (const _ of t.scan(start, end, { limit: 1, pageSize: 1, keysOnly: true })) {
        throw new PrefixNotEmptyError(hexKey(this.keys.p));
      }
      t.put(this.keys.setting(), Buffer.from(json, 'utf8'));
      t.put(this.keys.attr(ROOT_INODE), encodeAttr(rootAttr(secs, 0o777)));
      if ((spec.version ?? '1.1') !== '0.17' && (spec.trashDays ?? 1) > 0) {
        t.put(this.keys.attr(TRASH_INODE), encodeAttr(rootAttr(secs, 0o555)));
      }
      t.put(this.keys.counter('nextInode'), encodeCounter(2n));
      t.put(this.keys.counter('nextChunk'), encodeCounter(1n));
      if (spec.version === '0.17') t.put(this.keys.counter('nextSession'), encodeCounter(1n));
    });
    return { uuid, setting: json };
  }

  /**
   * The usage counter keys, built once per handle: they depend on the prefix alone, and a
   * counters pass reads them for every volume every few minutes.
   */
  get usageKeys(): UsageKeys {
    if (!this.usage) {
      const used = this.keys.counter('usedSpace');
      const inodes = this.keys.counter('totalInodes');
      this.usage = { used, inodes, usedHex: hexKey(used), inodesHex: hexKey(inodes) };
    }
    return this.usage;
  }

  /** The setting key and its hex form, built once per handle (every pass verifies some settings). */
  get settingKey(): { key: Buffer; hex: string } {
    if (!this.settingAt) {
      const key = this.keys.setting();
      this.settingAt = { key, hex: hexKey(key) };
    }
    return this.settingAt;
  }

  /** The raw setting text, or throws {@link NotFormattedError}. */
  async readSettingText(): Promise<string> {
    const v = await this.engine.get(this.settingKey.key);
    if (!v) throw new NotFormattedError(this.settingKey.hex);
    return Buffer.from(v).toString('utf8');
  }

  /** The setting, parsed and checked. */
  async readSetting(): Promise<SettingInfo> {
    return parseSetting(await this.readSettingText(), this.settingKey.hex);
  }

  /** `usedSpace` and `totalInodes` in one batch read. */
  async readCounters(): Promise<Counters> {
    const [c] = await readCountersMany(this.engine, [this]);
    return c!;
  }

  /**
   * Sets `Capacity`/`Inodes` in the setting (0 = unlimited, written explicitly), preserving every
   * other byte, in a compare-and-set transaction retried on conflict so a concurrent change to
   * the setting (by `juicefs config`, say) is re-read and kept, never overwritten. Idempotent:
   * returns false when the setting already said so and nothing was written.
   */
  async setLimits(limits: { capacity: bigint; inodes: bigint }): Promise<{ changed: boolean; before: SettingInfo }> {
    const key = this.keys.setting();
    const keyHex = hexKey(key);
    return this.engine.txn(
      async (t) => {
        const v = await t.get(key);
        if (!v) throw new NotFormattedError(keyHex);
        const text = Buffer.from(v).toString('utf8');
        const before = parseSetting(text, keyHex); // refuses corrupt settings: never freeze on bad data
        const next = withLimits(text, limits);
        parseSetting(next, keyHex);
        if (next === text) return { changed: false, before };
        t.put(key, Buffer.from(next, 'utf8'));
        return { changed: true, before };
      },
      { retries: 20 },
    );
  }
}

/** Reads the counters of many volumes on one engine in a single batch. */
export async function readCountersMany(engine: KvEngine, volumes: readonly TkvVolume[]): Promise<Counters[]> {
  const keys = new Array<Uint8Array>(2 * volumes.length);
  for (let i = 0; i < volumes.length; i++) {
    const k = volumes[i]!.usageKeys;
    keys[2 * i] = k.used;
    keys[2 * i + 1] = k.inodes;
  }
  const got = await engine.batchGet(keys);
  return volumes.map((v) => {
    const k = v.usageKeys;
    const u = got.get(k.usedHex);
    const n = got.get(k.inodesHex);
    const c: Counters = { usedSpace: decodeCounter(u, k.usedHex), totalInodes: decodeCounter(n, k.inodesHex) };
    if (u === undefined && n === undefined) c.absent = true;
    return c;
  });
}

export { CorruptMetadataError };
