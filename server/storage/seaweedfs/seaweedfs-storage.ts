/**
 * The SeaweedFS adapter (seaweedfs.md §7): buckets through the S3 API, identities through the
 * IAM Query API embedded in the S3 gateway (`-s3.iam.readOnly=false`, ≥4.08), per-bucket usage
 * from the master's `/vol/status`, and write freezes as `readOnly` rules in
 * `/etc/seaweedfs/filer.conf` over the filer's HTTP API (read-modify-write, verified by reading
 * back, re-applied by the reconciler when someone else's write loses ours).
 */
import { CreateAccessKeyCommand, CreateUserCommand, DeleteAccessKeyCommand, DeleteUserPolicyCommand, IAMClient, ListAccessKeysCommand, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, HeadBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { parseFilerConf, readOnlyPrefixes, withFrozen } from '../filer-conf.js';

/** How to reach the cluster, and the admin identity Headroom acts as. */
export interface SeaweedConfig {
  s3Endpoint: string;
  iamEndpoint: string;
  filerUrl: string;
  masterUrl: string;
  accessKey: string;
  secretKey: string;
  timeoutMs: number;
}

/** Usage of one bucket (its collection). */
export interface BucketUsage {
  logicalBytes: bigint;
  physicalBytes: bigint;
  objects: bigint;
}

const FILER_CONF = '/etc/seaweedfs/filer.conf';
/** Headroom's rules: `/buckets/<our bucket>/<volume name>/`, one level below SeaweedFS's own quota rule. */
const OWNED = /^\/buckets\/jfs-[a-z0-9-]+\/[a-z0-9-]+\/$/;

/** Talks to one SeaweedFS cluster. */
export class SeaweedStorage {
  private readonly s3: S3Client;
  private readonly iam: IAMClient;

  constructor(private readonly cfg: SeaweedConfig) {
    const credentials = { accessKeyId: cfg.accessKey, secretAccessKey: cfg.secretKey };
    this.s3 = new S3Client({ endpoint: cfg.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials, maxAttempts: 2 });
    this.iam = new IAMClient({ endpoint: cfg.iamEndpoint, region: 'us-east-1', credentials, maxAttempts: 2 });
  }

  /** What JuiceFS is formatted with: the bucket URL (path style: endpoint + bucket). */
  bucketUrl(bucket: string): string {
    return `${this.cfg.s3Endpoint.replace(/\/+$/, '')}/${bucket}`;
  }

  /** The read-only rule prefix of a volume's objects: JuiceFS writes under `<bucket>/<volume name>/`. */
  static freezePrefix(bucket: string, volumeName: string): string {
    return `/buckets/${bucket}/${volumeName}/`;
  }

  /** Creates the bucket; an existing bucket we can reach counts as done (idempotent). */
  async ensureBucket(bucket: string): Promise<void> {
    try {
      await this.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
      await this.s3.send(new HeadBucketCommand({ Bucket: bucket }));
    }
  }

  /**
   * Deletes a bucket and its objects (SeaweedFS drops the collection); a missing bucket is fine.
   * The objects are deleted first: SeaweedFS refuses a non-empty DeleteBucket (409
   * BucketNotEmpty) unless the gateway runs with `-s3.allowDeleteBucketNotEmpty`, which is off by
   * default in 4.x, and so does every other S3 store. A writer racing us (keys are revoked before
   * this is called, so only an admin) gets one more sweep.
   */
  async deleteBucket(bucket: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.emptyBucket(bucket);
        await this.s3.send(new DeleteBucketCommand({ Bucket: bucket }));
        return;
      } catch (err) {
        const name = (err as { name?: string }).name;
        if (name === 'NoSuchBucket') return;
        if (name !== 'BucketNotEmpty' || attempt >= 3) throw err;
      }
    }
  }

  /** Deletes every object of a bucket, a listing page (≤ 1000 keys) per batch delete. */
  private async emptyBucket(bucket: string): Promise<void> {
    let previous: string | undefined;
    for (;;) {
      // Always list from the start: the keys of the previous page are gone.
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
      if (keys.length === 0) return;
      // A store that reports a delete it did not do would otherwise keep us here forever.
      if (keys[0]!.Key === previous) throw new Error(`deleting the objects of bucket ${bucket} made no progress (${previous})`);
      previous = keys[0]!.Key;
      const res = await this.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length) throw new Error(`could not delete ${failed.length} objects of bucket ${bucket}: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`.trim());
    }
  }

  /**
   * Makes identity `name` exist with access key `keys` (supplied by us, a SeaweedFS extension to
   * CreateAccessKey, so a retry after a crash uses the same keys) and an inline policy granting
   * object access to exactly `buckets` (no other bucket, no bucket creation, no IAM).
   */
  async ensureIdentity(name: string, keys: { accessKey: string; secretKey: string }, buckets: readonly string[]): Promise<void> {
    try {
      await this.iam.send(new CreateUserCommand({ UserName: name }));
    } catch (err) {
      // The SDK names the IAM error code EntityAlreadyExists as EntityAlreadyExistsException.
      if (!/^EntityAlreadyExists/.test((err as { name?: string }).name ?? '')) throw err;
    }
    const listed = await this.iam.send(new ListAccessKeysCommand({ UserName: name }));
    if (!listed.AccessKeyMetadata?.some((k) => k.AccessKeyId === keys.accessKey)) {
      const cmd = new CreateAccessKeyCommand({ UserName: name });
      // The SDK has no fields for caller-supplied keys; add them to the form body before signing.
      cmd.middlewareStack.add(
        (next) => async (args) => {
          const req = args.request as { body?: string };
          req.body = `${req.body ?? ''}&AccessKeyId=${encodeURIComponent(keys.accessKey)}&SecretAccessKey=${encodeURIComponent(keys.secretKey)}`;
          return next(args);
        },
        { step: 'build', priority: 'high', name: 'headroomSuppliedKeys' },
      );
      await this.iam.send(cmd);
    }
    if (buckets.length === 0) {
      await this.iam.send(new DeleteUserPolicyCommand({ UserName: name, PolicyName: 'headroom-buckets' })).catch(() => undefined);
      return;
    }
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket', 's3:AbortMultipartUpload'],
          Resource: buckets.flatMap((b) => [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`]),
        },
      ],
    };
    await this.iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: 'headroom-buckets', PolicyDocument: JSON.stringify(policy) }));
  }

  /** The access key ids identity `name` holds (none when it does not exist). */
  async accessKeys(name: string): Promise<string[]> {
    try {
      const listed = await this.iam.send(new ListAccessKeysCommand({ UserName: name }));
      return (listed.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId!).filter(Boolean);
    } catch (err) {
      if (/^NoSuchEntity/.test((err as { name?: string }).name ?? '')) return [];
      throw err;
    }
  }

  /** Revokes one access key of identity `name`; an unknown key counts as revoked (idempotent). */
  async deleteAccessKey(name: string, accessKey: string): Promise<void> {
    try {
      await this.iam.send(new DeleteAccessKeyCommand({ UserName: name, AccessKeyId: accessKey }));
    } catch (err) {
      if (!/^NoSuchEntity/.test((err as { name?: string }).name ?? '')) throw err;
    }
  }

  /**
   * Usage per bucket from the master's `/vol/status`: a bucket is a collection; logical bytes are
   * Σ(Size − DeletedByteCount) over its distinct volume ids, physical bytes over every replica.
   * EC shards are not listed there (seaweedfs.md §4.2): EC-encoded buckets read low.
   */
  async usage(): Promise<Map<string, BucketUsage>> {
    const res = await fetch(`${this.cfg.masterUrl.replace(/\/+$/, '')}/vol/status`, { signal: AbortSignal.timeout(this.cfg.timeoutMs) });
    if (!res.ok) throw new Error(`master /vol/status answered ${res.status}`);
    const body = (await res.json()) as { Volumes?: { DataCenters?: Record<string, Record<string, Record<string, VolumeRecord[] | null>>> } };
    const out = new Map<string, BucketUsage>();
    const seen = new Set<string>();
    for (const racks of Object.values(body.Volumes?.DataCenters ?? {})) {
      for (const nodes of Object.values(racks ?? {})) {
        for (const vols of Object.values(nodes ?? {})) {
          for (const v of vols ?? []) {
            if (!v.Collection) continue;
            const u = out.get(v.Collection) ?? { logicalBytes: 0n, physicalBytes: 0n, objects: 0n };
            const live = BigInt(v.Size ?? 0) - BigInt(v.DeletedByteCount ?? 0);
            u.physicalBytes += BigInt(v.Size ?? 0);
            const key = `${v.Collection}/${v.Id}`;
            if (!seen.has(key)) {
              seen.add(key);
              u.logicalBytes += live;
              u.objects += BigInt(v.FileCount ?? 0) - BigInt(v.DeleteCount ?? 0);
            }
            out.set(v.Collection, u);
          }
        }
      }
    }
    return out;
  }

  /** Headroom's read-only prefixes currently in filer.conf. */
  async frozenPrefixes(): Promise<Set<string>> {
    const conf = parseFilerConf(await this.readFilerConf());
    return new Set([...readOnlyPrefixes(conf, '/buckets/')].filter((p) => OWNED.test(p)));
  }

  /**
   * Makes Headroom's rules exactly `frozen` (prefixes from {@link freezePrefix}), keeping every
   * other rule, then reads the file back to check the write held (a concurrent writer may have
   * replaced it; the caller retries next time). Returns whether anything was written.
   */
  async setFrozen(frozen: ReadonlySet<string>): Promise<boolean> {
    for (const p of frozen) if (!OWNED.test(p)) throw new Error(`"${p}" is not a prefix Headroom owns`);
    const conf = parseFilerConf(await this.readFilerConf());
    const next = withFrozen(conf, (p) => OWNED.test(p), frozen);
    if (!next) return false;
    const res = await fetch(this.filer(FILER_CONF), {
      method: 'PUT',
      body: JSON.stringify(next, null, 2),
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(this.cfg.timeoutMs),
    });
    if (!res.ok) throw new Error(`filer PUT ${FILER_CONF} answered ${res.status}`);
    const now = await this.frozenPrefixes();
    const same = now.size === frozen.size && [...frozen].every((p) => now.has(p));
    if (!same) throw new Error('filer.conf changed under us while writing the freeze rules; will retry');
    return true;
  }

  private filer(path: string): string {
    return `${this.cfg.filerUrl.replace(/\/+$/, '')}${path}`;
  }

  private async readFilerConf(): Promise<string | null> {
    const res = await fetch(this.filer(FILER_CONF), { signal: AbortSignal.timeout(this.cfg.timeoutMs) });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`filer GET ${FILER_CONF} answered ${res.status}`);
    return res.text();
  }

  close(): void {
    this.s3.destroy();
    this.iam.destroy();
  }
}

interface VolumeRecord {
  Id: number;
  Collection: string;
  Size?: number;
  DeletedByteCount?: number;
  FileCount?: number;
  DeleteCount?: number;
}
