/**
 * The port between the service and a volume's JuiceFS metadata, whatever engine holds it,
 * declared by the metadata layer itself (as JuiceFS's own pkg/meta owns its interface):
 * `JuiceFsMetadata` implements it over the TKV layout and the engines, `RedisMetadata` over
 * Redis, and `MetadataRouter` picks one per meta URL. Tests use the same code on the in-memory
 * engine.
 */
/**
 * What the metadata layer knows of a volume: where its keys are, and the hard limits it is
 * formatted with. Nothing of tenants, states or enforcement (a Volume is one, structurally).
 */
export interface VolumeRef {
  readonly id: string;
  /** `etcd://…/prefix`, `tikv://…`, `redis://…/db`, `local://file?prefix=…`. */
  readonly metaUrl: string;
  /** The volume's key prefix, never shared or reused (also its JuiceFS name). */
  readonly prefix: string;
  /** Written as Capacity/Inodes at format time (null = unlimited). */
  readonly quota: { readonly hardBytes: bigint | null; readonly hardInodes: bigint | null };
}

/** Where JuiceFS will put the volume's objects (its `--storage`, `--bucket` and keys). */
export interface StorageTarget {
  storage: string;
  bucket: string;
  accessKey?: string;
  secretKey?: string;
}

/** Usage as the JuiceFS counters report it. */
export interface CounterUsage {
  usedBytes: bigint;
  usedInodes: bigint;
}

/** Usage of one directory from a walk; `bytes` are counted as JuiceFS counts space (4 KiB-aligned). */
export interface DirectoryUsage {
  inode: bigint;
  pathBase64: string;
  path: string;
  depth: number;
  inTrash: boolean;
  bytes: bigint;
  logicalBytes: bigint;
  inodes: bigint;
  files: bigint;
  dirs: bigint;
  directBytes: bigint;
  directInodes: bigint;
  /** What the files are (ages, sizes, types, numbered series); present when the walk was enriched. */
  profile?: DirectoryProfile;
}

/**
 * A directory's files by age, size and type, in JuiceFS space (align4K per regular file; other
 * inodes are not files). Subtree figures follow `du`, as the directory's own do: a hard-linked
 * file counts in every directory whose subtree holds a link. Plain numbers, not bigint: these are
 * sums per directory kept for every directory during a walk, and 2^53 bytes is 8 PiB.
 */
export interface DirectoryProfile {
  /** Bytes and files by age of last modification, buckets {@link AGE_BUCKET_DAYS} apart. */
  ageBytes: number[];
  ageFiles: number[];
  /** Bytes and files by file size, buckets {@link SIZE_BUCKET_BYTES} apart. */
  sizeBytes: number[];
  sizeFiles: number[];
  /** The subtree's file types by bytes, largest first (bounded; the rest under `other`). */
  types: FileTypeUsage[];
  /** The same for the directory's own files only. */
  directTypes: FileTypeUsage[];
  /** Newest modification time of a file in the subtree, seconds since the epoch; 0 = no files. */
  newestMtime: number;
  /** Numbered file series among the directory's own files (`ckpt-#.pt`), bounded. */
  series: FileSeries[];
}

/** Upper bounds (days) of the age buckets: < 7 d, 7–30, 30–90, 90–365, older. */
export const AGE_BUCKET_DAYS = [7, 30, 90, 365] as const;
/** Upper bounds (bytes) of the size buckets: < 1 MiB, < 100 MiB, < 1 GiB, < 10 GiB, larger. */
export const SIZE_BUCKET_BYTES = [1 << 20, 100 << 20, 1 << 30, 10 * (1 << 30)] as const;

/** Bytes and files of one file type (an extension such as `pt`, or `tfevents`, `core`, `` for none). */
export interface FileTypeUsage {
  type: string;
  bytes: number;
  files: number;
}

/** Files of one directory whose names differ only in their numbers (`step_#.ckpt`). */
export interface FileSeries {
  /** The name with every run of digits replaced by `#`. */
  pattern: string;
  files: number;
  bytes: number;
  /** The highest-numbered members, highest first (at most {@link SERIES_KEPT}). */
  newest: Array<{ name: string; bytes: number; mtime: number }>;
}

/** Members of a series kept by the walk (rules may keep fewer). */
export const SERIES_KEPT = 10;

/** One of the volume's largest files. */
export interface LargeFile {
  path: string;
  pathBase64: string;
  bytes: bigint;
  mtime: number;
}

/** Volume-wide figures of an enriched walk. */
export interface WalkProfile {
  /** The walk's clock (seconds since the epoch): ages are relative to it. */
  at: number;
  /** The largest files, largest first (bounded). */
  largestFiles: LargeFile[];
}

/** Options of a walk: cancellation, progress, and a read budget (awaited before each page of keys). */
export interface WalkOptions {
  signal?: AbortSignal;
  onProgress?: (keysRead: number) => void;
  throttle?: (keys: number) => Promise<void>;
  /** Collect file ages, sizes, types and the largest files (default true; off for benchmarks). */
  enrich?: boolean;
}

/** What a full walk found, next to what the counters say. */
export interface WalkOutcome {
  keysRead: number;
  totals: { bytes: bigint; logicalBytes: bigint; inodes: bigint };
  trash: { bytes: bigint; inodes: bigint };
  counters: CounterUsage;
  /** Present when the walk's totals (trash included) disagree with the counters. */
  mismatch: { bytesDelta: bigint; inodesDelta: bigint } | null;
  directories: DirectoryUsage[];
  /** Present when the walk was enriched (see {@link DirectoryProfile}). */
  profile?: WalkProfile;
}

/** What an existing JuiceFS volume's `setting` says about itself (for adoption). */
export interface VolumeIdentity {
  name: string;
  uuid: string;
  storage: string;
  bucket: string;
  capacity: bigint;
  inodes: bigint;
}

/** The JuiceFS limits a volume's setting holds (0 = unlimited). */
export interface SettingLimits {
  capacity: bigint;
  inodes: bigint;
}

/** Engine-neutral access to one volume's metadata. */
export interface VolumeMetadata {
  /** Formats the volume as `juicefs format` would (or accepts its own earlier format); safe to repeat. */
  provision(volume: VolumeRef, target?: StorageTarget): Promise<void>;
  readUsage(volume: VolumeRef): Promise<CounterUsage>;
  /** Counters of many volumes in as few round trips as the engines allow; a failed read is an Error in the map. */
  readUsageMany(volumes: readonly VolumeRef[]): Promise<Map<string, CounterUsage | Error>>;
  walk(volume: VolumeRef, opts: WalkOptions): Promise<WalkOutcome>;
  /** Deletes every metadata key of the volume (its prefix, or its Redis database); idempotent. */
  purge(volume: VolumeRef): Promise<{ keysDeleted: number }>;
  /** The Capacity/Inodes the settings of many volumes hold now (verification); a failed read is an Error in the map. */
  readLimitsMany(volumes: readonly VolumeRef[]): Promise<Map<string, SettingLimits | Error>>;
  /** Writes the JuiceFS Capacity/Inodes of the volume (0 = unlimited); idempotent. */
  setLimits(volume: VolumeRef, limits: { capacity: bigint; inodes: bigint }): Promise<{ changed: boolean }>;
  /** Reads and checks the `setting` at a meta URL; throws if it is not a JuiceFS volume. */
  inspect(metaUrl: string): Promise<VolumeIdentity>;
}

/**
 * A JuiceFS directory quota record (v1.1+; juicefs-metadata.md §7.2) as the engines store it:
 * limits (≤ 0 = unlimited; JuiceFS 1.4 writes −1, 1.1–1.3 wrote 0) and the usage the clients keep
 * up to date (every 3 s), which covers the subtree without the quota directory itself.
 */
export interface DirQuotaRecord {
  inode: bigint;
  maxSpace: bigint;
  maxInodes: bigint;
  usedSpace: bigint;
  usedInodes: bigint;
}

/** What a volume's format lets JuiceFS enforce by itself, and why not when it cannot. */
export interface QuotaCapabilities {
  /** Directory quotas: JuiceFS ≥ 1.1 format with `DirStats` on. */
  dirQuotas: boolean;
  /** User/group quotas: JuiceFS 1.4 format with `UserGroupQuota` on. */
  userGroupQuotas: boolean;
  /** Why directory quotas are not native (null when they are). */
  dirReason: string | null;
  /** Why user/group quotas are not native (null when they are). */
  userGroupReason: string | null;
}

/** New hard limits of a directory quota; `null` leaves a limit as it is (JuiceFS's −1 "no change"). */
export interface DirQuotaLimits {
  maxSpace: bigint | null;
  maxInodes: bigint | null;
}

/** A subtree's real usage, counted as `juicefs quota check` counts it (quota directory excluded). */
export interface SubtreeUsage {
  space: bigint;
  inodes: bigint;
}

/**
 * JuiceFS's native directory quotas of a volume, as `juicefs quota` handles them. Implemented next
 * to {@link VolumeMetadata} by the same classes; a separate port so code that only needs counters
 * (and the test doubles of it) is not made to carry these.
 */
export interface DirQuotaMetadata {
  quotaCapabilities(volume: VolumeRef): Promise<QuotaCapabilities>;
  /** The inode of a directory path (raw bytes, `/`-separated), through the dentries; undefined when absent or not a directory. */
  resolveDirectory(volume: VolumeRef, path: Buffer): Promise<bigint | undefined>;
  /** The path of a directory inode, from its parents' dentries; undefined when unreachable. */
  directoryPath(volume: VolumeRef, inode: bigint): Promise<Buffer | undefined>;
  /**
   * Sets limits as `juicefs quota set` does: a new record gets −1 for any limit not given and
   * then the subtree usage (filling in missing dir stats as JuiceFS's fast summary does); an
   * existing record keeps its usage. Refuses when the format has no native directory quotas.
   */
  setDirQuota(volume: VolumeRef, inode: bigint, limits: DirQuotaLimits): Promise<{ created: boolean; record: DirQuotaRecord }>;
  /** Removes the record as `juicefs quota delete` does; false when there was none. */
  deleteDirQuota(volume: VolumeRef, inode: bigint): Promise<{ deleted: boolean }>;
  /** Every directory quota record of the volume (`juicefs quota list`, hidden ones included). */
  listDirQuotas(volume: VolumeRef): Promise<DirQuotaRecord[]>;
  /** Records of many (volume, inode) pairs in batches; key `${volume.id}/${inode}`, null = no record, Error = read failed. */
  readDirQuotasMany(items: readonly { volume: VolumeRef; inode: bigint }[]): Promise<Map<string, DirQuotaRecord | null | Error>>;
  /** The subtree's real usage (`juicefs quota check --strict`). */
  subtreeUsage(volume: VolumeRef, inode: bigint): Promise<SubtreeUsage>;
  /** Writes the used values of an existing record (`quota check --repair`); false when the record is gone. */
  repairDirQuota(volume: VolumeRef, inode: bigint, usage: SubtreeUsage): Promise<{ repaired: boolean }>;
}

/** The key of one (volume, inode) pair in {@link DirQuotaMetadata.readDirQuotasMany}'s map. */
export const dirQuotaKey = (volumeId: string, inode: bigint): string => `${volumeId}/${inode}`;

/** Raised when a volume's format has no native directory (or user/group) quotas. */
export class NativeQuotaUnsupportedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'NativeQuotaUnsupportedError';
  }
}

/** The two kinds of JuiceFS 1.4 owner quotas, keyed by uid or gid. */
export type UserGroupKind = 'user' | 'group';

/** The key of one (volume, kind, id) triple in {@link UserGroupQuotaMetadata.readUserGroupQuotasMany}'s map. */
export const userGroupQuotaKey = (volumeId: string, kind: UserGroupKind, id: bigint): string => `${volumeId}/${kind}:${id}`;

/**
 * JuiceFS 1.4's user and group quotas (juicefs-metadata.md §7.4): the same 32-byte record as a
 * directory quota (`inode` holds the uid/gid), enforced only when the format has UserGroupQuota.
 * Delete keeps the usage and lifts the limits (−1), as `juicefs quota delete --uid` does.
 */
export interface UserGroupQuotaMetadata {
  setUserGroupQuota(volume: VolumeRef, kind: UserGroupKind, id: bigint, limits: DirQuotaLimits): Promise<{ created: boolean; record: DirQuotaRecord }>;
  deleteUserGroupQuota(volume: VolumeRef, kind: UserGroupKind, id: bigint): Promise<{ deleted: boolean }>;
  listUserGroupQuotas(volume: VolumeRef, kind: UserGroupKind): Promise<DirQuotaRecord[]>;
  readUserGroupQuotasMany(items: readonly { volume: VolumeRef; kind: UserGroupKind; id: bigint }[]): Promise<Map<string, DirQuotaRecord | null | Error>>;
}
