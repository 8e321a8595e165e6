/**
 * The volume `setting` (JuiceFS `Format`, juicefs-metadata.md §5): building it as `juicefs format`
 * would for a chosen client version, reading it back, and changing `Capacity`/`Inodes` without
 * touching any other byte.
 */
import { randomUUID } from 'node:crypto';
import { getInteger, members, setIntegers } from './raw-json.js';
import { CorruptMetadataError } from './records.js';
import { encryptSecret } from './secrets.js';

/** JuiceFS client generations Headroom formats for. */
export type FormatVersion = '1.1' | '0.17';

/** What a new volume's setting is made of. */
export interface FormatSpec {
  name: string;
  storage: string;
  bucket: string;
  accessKey?: string;
  secretKey?: string;
  /** KiB, power of two in 64..16384 (default 4096). */
  blockSize?: number;
  compression?: 'none' | 'lz4' | 'zstd';
  trashDays?: number;
  capacity?: bigint;
  inodes?: bigint;
  version?: FormatVersion;
  /** Fixed UUID (tests); random v4 otherwise. */
  uuid?: string;
}

/** The fields of an existing setting Headroom reads. */
export interface SettingInfo {
  name: string;
  uuid: string;
  storage: string;
  bucket: string;
  blockSize: number;
  trashDays: number;
  metaVersion: number;
  capacity: bigint;
  inodes: bigint;
  keyEncrypted: boolean;
}

/** `juicefs format`'s volume name rule. */
export const VOLUME_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** Go's json escapes <, >, & and U+2028/9; match it so our bytes look like JuiceFS's. */
function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Renders the setting JSON as JuiceFS's `MarshalIndent(format, "", "")` does: one member per line,
 * `": "` after keys, fields in struct order, omitempty fields left out when empty: the bytes of
 * `juicefs format` v1.4 (test/real/format-parity.test.ts compares them with the real binary).
 * One deliberate difference: Capacity and Inodes are always written, even when 0 (JuiceFS omits
 * them), so that lifting a limit is explicit for every client and a freeze followed by an
 * unfreeze gives back the format's bytes exactly.
 */
export function renderSetting(spec: FormatSpec): { json: string; uuid: string } {
  if (!VOLUME_NAME.test(spec.name)) throw new Error(`invalid JuiceFS volume name ${JSON.stringify(spec.name)}`);
  const blockSize = spec.blockSize ?? 4096;
  if (blockSize < 64 || blockSize > 16384 || (blockSize & (blockSize - 1)) !== 0) throw new Error(`invalid block size ${blockSize} KiB`);
  const uuid = spec.uuid ?? randomUUID();
  const version = spec.version ?? '1.1';
  const f: Array<[string, string]> = [];
  const str = (k: string, v: string | undefined, omitEmpty = false) => {
    if (!(omitEmpty && !v)) f.push([k, goString(v ?? '')]);
  };
  const num = (k: string, v: bigint | number) => f.push([k, v.toString()]);
  str('Name', spec.name);
  str('UUID', uuid);
  str('Storage', spec.storage);
  if (version !== '0.17') {
    // v1.4 writes the tier map (not omitempty) right after Storage: tier 0 is the default tier,
    // with the volume's storage class (none). Older 1.x clients ignore the unknown member, and
    // 1.4 would fill exactly this in when it is missing, so writing it changes nothing for them.
    f.push(['Tiers', '{\n"0": {\n"ID": 0,\n"StorageClass": "",\n"Tag": ""\n}\n}']);
  }
  str('Bucket', spec.bucket);
  if (version === '0.17') {
    // v0.17: no encryption, SecretKey omitempty, Compression/Shards/Partitions always present.
    str('AccessKey', spec.accessKey ?? '');
    str('SecretKey', spec.secretKey, true);
    num('BlockSize', blockSize);
    str('Compression', spec.compression ?? 'none');
    num('Shards', 0);
    num('Partitions', 0);
    num('Capacity', spec.capacity ?? 0n);
    num('Inodes', spec.inodes ?? 0n);
  } else {
    const encrypt = Boolean(spec.secretKey);
    str('AccessKey', spec.accessKey, true);
    str('SecretKey', spec.secretKey ? encryptSecret(uuid, spec.secretKey) : undefined, true);
    num('BlockSize', blockSize);
    str('Compression', spec.compression ?? 'none', true);
    num('Capacity', spec.capacity ?? 0n);
    num('Inodes', spec.inodes ?? 0n);
    str('EncryptAlgo', 'aes256gcm-rsa');
    if (encrypt) f.push(['KeyEncrypted', 'true']);
    num('TrashDays', spec.trashDays ?? 1);
    num('MetaVersion', 1);
    str('MinClientVersion', '1.1.0-A');
    f.push(['DirStats', 'true']);
    // v1.2+ writes EnableACL always (no omitempty); false keeps ACLs off, as a v1.1 client has them.
    f.push(['EnableACL', 'false']);
  }
  return { json: `{\n${f.map(([k, v]) => `"${k}": ${v}`).join(',\n')}\n}`, uuid };
}

/** Parses and checks a setting; errors name the key they came from. */
export function parseSetting(text: string, keyHex: string): SettingInfo {
  let obj: Record<string, unknown>;
  try {
    members(text); // our own parser must accept it too, or a later freeze could not edit it
    obj = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new CorruptMetadataError(keyHex, `setting is not valid JSON: ${(err as Error).message}`);
  }
  const s = (k: string) => (typeof obj[k] === 'string' ? (obj[k] as string) : undefined);
  const n = (k: string) => (typeof obj[k] === 'number' ? (obj[k] as number) : undefined);
  const name = s('Name');
  const uuid = s('UUID');
  const storage = s('Storage');
  const blockSize = n('BlockSize');
  if (!name || !uuid || !storage || s('Bucket') === undefined || !blockSize) {
    throw new CorruptMetadataError(keyHex, 'setting lacks Name, UUID, Storage, Bucket or BlockSize: not a JuiceFS volume');
  }
  const exact = (k: string) => {
    if (obj[k] === undefined || obj[k] === null) return 0n;
    const v = getInteger(text, k);
    if (v === undefined || v < 0n) throw new CorruptMetadataError(keyHex, `setting ${k} is not a non-negative integer`);
    return v;
  };
  return {
    name,
    uuid,
    storage,
    bucket: s('Bucket')!,
    blockSize,
    trashDays: n('TrashDays') ?? 0,
    metaVersion: n('MetaVersion') ?? 0,
    capacity: exact('Capacity'),
    inodes: exact('Inodes'),
    keyEncrypted: obj.KeyEncrypted === true,
  };
}

/**
 * The setting with `Capacity`/`Inodes` set to exact values, every other byte unchanged. Missing
 * members are added where JuiceFS's struct order puts them.
 */
export function withLimits(text: string, limits: { capacity: bigint; inodes: bigint }): string {
  return setIntegers(text, { Capacity: limits.capacity, Inodes: limits.inodes }, ['Capacity', 'HashPrefix', 'Shards', 'Partitions', 'Compression', 'BlockSize']);
}
