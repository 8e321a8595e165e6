/**
 * In-process fake SeaweedFS for tests of our SeaweedFS adapter: an S3 gateway port with the
 * embedded IAM API (as 4.x), a filer HTTP port and a master HTTP port, all plain `node:http` on
 * 127.0.0.1, sharing one model. Behaviour follows design/seaweedfs.md (§1–4, §7.4), not SeaweedFS
 * code: real SigV4 checks, action-string permissions, inline-policy flattening, filer.conf
 * read-only rules, `/vol/status` usage. See README.md next to this file for the deliberate
 * choices and the known differences from a real cluster.
 */
import { filerHandler } from './filer.js';
import { closeServer, listen } from './http.js';
import { masterHandler } from './master.js';
import { s3Handler } from './s3.js';
import { FakeState, FILER_CONF_PATH, type FakeCall, type ServiceName } from './state.js';

export { policyToActions } from './iam.js';
export { validBucketName } from './s3.js';
export { FILER_CONF_PATH, wildcardMatch, type FakeCall, type ServiceName } from './state.js';

export interface FakeSeaweedOptions {
  /** Access key of the built-in `admin` identity (action `Admin`). Default 'admin-key'. */
  adminAccessKey?: string;
  /** Secret of the built-in admin. Default 'admin-secret-0123456789'. */
  adminSecretKey?: string;
  /**
   * SeaweedFS version to imitate, default '4.44'. Gates: <4.01 read-only writes → 500
   * InternalError; <4.03 no embedded IAM (POST / → 501); <4.07 only trailing-`*` patterns;
   * <4.38 inline-policy prefix resources lose their wildcard (grant nothing) and DeleteBucket
   * prunes only exact `Action:B` strings. Also shown in `/vol/status` `Version`.
   */
  version?: string;
  /** Imitate `-iam.readOnly=true` (the ≥4.08 default): only Get and List IAM actions. Default false. */
  iamReadOnly?: boolean;
  /**
   * `-s3.allowDeleteBucketNotEmpty`: DeleteBucket of a bucket with objects deletes them too.
   * Default true (what the contract tests were written for); a real 4.53 gateway defaults to
   * false and answers 409 BucketNotEmpty.
   */
  allowDeleteBucketNotEmpty?: boolean;
}

export interface FakeIdentityInfo {
  name: string;
  accessKeys: string[];
  actions: string[];
}

export interface FakeSeaweed {
  /** S3 gateway with the embedded IAM API on the same port (POST /). */
  s3Url: string;
  filerUrl: string;
  masterUrl: string;
  admin: { accessKey: string; secretKey: string };
  version: string;
  close(): Promise<void>;

  buckets(): string[];
  identities(): FakeIdentityInfo[];
  /** Live objects in a bucket (0 for an unknown bucket). */
  objectCount(bucket: string): number;
  /** Sorted object keys of a bucket. */
  objectKeys(bucket: string): string[];
  /** The next `times` (default 1) requests to that service answer `status` with a service-shaped error. */
  failNext(service: ServiceName, status: number, times?: number): void;
  /** Set the garbage (not yet vacuumed) bytes of a bucket's volume; creates the volume if needed. */
  setDeletedBytes(bucket: string, n: number): void;
  /** Forget garbage: DeletedByteCount/DeleteCount → 0, FileCount → live objects. */
  vacuum(bucket?: string): void;
  /** Number of copies of a bucket's volume (2 = also listed on a second node with the same Id). */
  setReplicas(bucket: string, copies: number): void;
  /** Add an identity directly, as a static config / identity file would (bypasses IAM validation). */
  addIdentity(identity: { name: string; accessKey?: string; secretKey?: string; actions: string[] }): void;
  /** Current filer.conf body, if any. */
  filerConf(): string | undefined;
  /** Every request seen, in order. */
  calls: FakeCall[];
}

/** The SEAWEEDFS_* variables that point Headroom at the fake with its admin identity. */
export function fakeSeaweedEnv(sw: FakeSeaweed): Record<string, string> {
  return {
    SEAWEEDFS_S3_ENDPOINT: sw.s3Url,
    SEAWEEDFS_FILER_URL: sw.filerUrl,
    SEAWEEDFS_MASTER_URL: sw.masterUrl,
    SEAWEEDFS_ACCESS_KEY: sw.admin.accessKey,
    SEAWEEDFS_SECRET_KEY: sw.admin.secretKey,
  };
}

export async function startFakeSeaweed(opts: FakeSeaweedOptions = {}): Promise<FakeSeaweed> {
  const state = new FakeState(opts.version ?? '4.44', opts.iamReadOnly ?? false);
  state.allowDeleteBucketNotEmpty = opts.allowDeleteBucketNotEmpty ?? true;
  const admin = { accessKey: opts.adminAccessKey ?? 'admin-key', secretKey: opts.adminSecretKey ?? 'admin-secret-0123456789' };
  const adminIdentity = state.newIdentity('admin', ['Admin']);
  adminIdentity.credentials.push({ accessKey: admin.accessKey, secretKey: admin.secretKey, status: 'Active', created: new Date() });

  const s3 = await listen(s3Handler(state));
  const filer = await listen(filerHandler(state));
  let masterUrl = '';
  const master = await listen(masterHandler(state, () => masterUrl));
  masterUrl = master.url;

  return {
    s3Url: s3.url,
    filerUrl: filer.url,
    masterUrl,
    admin,
    version: state.version,
    calls: state.calls,
    async close() {
      await Promise.all([closeServer(s3.server), closeServer(filer.server), closeServer(master.server)]);
    },
    buckets: () => [...state.buckets.keys()].sort(),
    identities: () => state.identities.map((i) => ({ name: i.name, accessKeys: i.credentials.map((c) => c.accessKey), actions: [...i.actions] })),
    objectCount: (bucket) => state.buckets.get(bucket)?.objects.size ?? 0,
    objectKeys: (bucket) => [...(state.buckets.get(bucket)?.objects.keys() ?? [])].sort(),
    failNext(service, status, times = 1) {
      const q = state.faults.get(service) ?? [];
      q.push({ status, remaining: times });
      state.faults.set(service, q);
    },
    setDeletedBytes(bucket, n) {
      state.ensureVolume(bucket).deletedBytes = n;
    },
    vacuum: (bucket) => state.vacuum(bucket),
    setReplicas(bucket, copies) {
      state.ensureVolume(bucket).copies = Math.max(1, Math.min(2, Math.floor(copies)));
    },
    addIdentity({ name, accessKey, secretKey, actions }) {
      if (state.findIdentity(name)) throw new Error(`identity ${name} exists`);
      const ident = state.newIdentity(name, [...actions]);
      if (accessKey !== undefined) {
        if (secretKey === undefined && name !== 'anonymous') throw new Error('secretKey required with accessKey');
        ident.credentials.push({ accessKey, secretKey: secretKey ?? '', status: 'Active', created: new Date() });
      }
    },
    filerConf: () => state.files.get(FILER_CONF_PATH)?.body.toString('utf8'),
  };
}
