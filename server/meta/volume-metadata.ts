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
}

/** Options of a walk: cancellation, progress, and a read budget (awaited before each page of keys). */
export interface WalkOptions {
  signal?: AbortSignal;
  onProgress?: (keysRead: number) => void;
  throttle?: (keys: number) => Promise<void>;
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
