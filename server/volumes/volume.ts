/** The volume aggregate: domain types shared by the volume store, service and routes. */

/** Metadata engines a volume can live on. */
export type EngineKind = 'local' | 'etcd' | 'tikv' | 'redis';

/** Lifecycle of a volume: `deleting` keeps its data until an admin purges it; `purged` is the end. */
export type VolumeState = 'provisioning' | 'active' | 'failed' | 'deleting' | 'purged';

/** Limits in bytes and inodes; `null` = unlimited. */
export interface Quota {
  softBytes: bigint | null;
  hardBytes: bigint | null;
  softInodes: bigint | null;
  hardInodes: bigint | null;
  graceSeconds: number;
}

/** One JuiceFS file system owned by a tenant. */
export interface Volume {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  engine: EngineKind;
  metaUrl: string;
  state: VolumeState;
  stateDetail: string | null;
  quota: Quota;
  /** Where the volume's objects go: a local directory (`file`), or its own S3 bucket. */
  storage: { kind: 'file' | 's3'; bucket: string | null };
  requestHash: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The API shape of a volume (numbers, not bigints: quotas are capped at 2^53-1 on input). */
export function presentVolume(v: Volume) {
  const n = (x: bigint | null) => (x === null ? null : Number(x));
  return {
    id: v.id,
    tenantId: v.tenantId,
    name: v.name,
    prefix: v.prefix,
    engine: v.engine,
    metaUrl: v.metaUrl,
    state: v.state,
    stateDetail: v.stateDetail,
    quota: {
      softBytes: n(v.quota.softBytes),
      hardBytes: n(v.quota.hardBytes),
      softInodes: n(v.quota.softInodes),
      hardInodes: n(v.quota.hardInodes),
      graceSeconds: v.quota.graceSeconds,
    },
    storage: { kind: v.storage.kind, bucket: v.storage.bucket },
    createdAt: v.createdAt.toISOString(),
    updatedAt: v.updatedAt.toISOString(),
  };
}
