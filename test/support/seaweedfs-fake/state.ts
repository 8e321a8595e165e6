/**
 * The shared model behind the fake's three servers: buckets (= collections) with their objects,
 * identities with action strings, filer files (filer.conf and anything else PUT over the filer),
 * volumes per collection, and the permission / read-only rules of design/seaweedfs.md §1.2, §3.4.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface FakeObject {
  body: Buffer;
  /** md5 hex, or `<md5>-<parts>` after a multipart upload (no quotes). */
  etag: string;
  contentType: string;
  meta: Record<string, string>;
  mtime: Date;
}

export interface FakeUpload {
  id: string;
  key: string;
  initiated: Date;
  contentType: string;
  meta: Record<string, string>;
  parts: Map<number, { body: Buffer; etag: string; mtime: Date }>;
}

export interface FakeBucket {
  name: string;
  created: Date;
  /** Identity name that created it through S3 (undefined when created through the filer). */
  owner?: string;
  objects: Map<string, FakeObject>;
  uploads: Map<string, FakeUpload>;
}

export interface FakeCredential {
  accessKey: string;
  secretKey: string;
  status: 'Active' | 'Inactive';
  created: Date;
}

export interface FakeIdentity {
  name: string;
  userId: string;
  created: Date;
  credentials: FakeCredential[];
  actions: string[];
  /** Inline policies (PutUserPolicy), name → parsed document. */
  policies: Map<string, unknown>;
}

export interface FakeVolume {
  id: number;
  collection: string;
  /** Needles written since the last vacuum (live + deleted/overwritten). */
  fileCount: number;
  deleteCount: number;
  deletedBytes: number;
  /** Copies of this volume (1 = no replication; 2 = "001": a second copy on another node). */
  copies: number;
}

export interface FilerFile {
  body: Buffer;
  mime: string;
  mtime: Date;
  crtime: Date;
}

export interface LocationRule {
  locationPrefix: string;
  readOnly: boolean;
}

export type ServiceName = 's3' | 'iam' | 'filer' | 'master';

export interface FakeCall {
  service: ServiceName;
  method: string;
  /** URL path (decoded), without the query. */
  path: string;
  /** Raw query string ('' when none). */
  query: string;
  /** S3 operation or IAM Action name; undefined for filer/master. */
  action?: string;
  /** Identity the request was authenticated as (S3/IAM), when known. */
  identity?: string;
  /** HTTP status sent. */
  status?: number;
}

export const FILER_CONF_PATH = '/etc/seaweedfs/filer.conf';

export const md5Hex = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

export function parseVersion(v: string): number {
  const m = /(\d+)\.(\d+)/.exec(v);
  if (!m) return 4_44;
  return Number(m[1]) * 100 + Number(m[2]);
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export function randomString(n: number, alphabet = ALNUM): string {
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[bytes[i]! % alphabet.length];
  return s;
}

/** Wildcard match of SeaweedFS action strings: `*` matches anything (including `/`), `?` one char. */
export function wildcardMatch(pattern: string, text: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    's',
  );
  return re.test(text);
}

const hasWildcard = (s: string): boolean => s.includes('*') || s.includes('?');

export class FakeState {
  readonly version: string;
  readonly v: number;
  iamReadOnly: boolean;
  /** `-s3.allowDeleteBucketNotEmpty`: DeleteBucket also deletes the objects (else 409 BucketNotEmpty). */
  allowDeleteBucketNotEmpty = true;
  readonly buckets = new Map<string, FakeBucket>();
  readonly identities: FakeIdentity[] = [];
  readonly files = new Map<string, FilerFile>();
  /** Directories created explicitly over the filer (mkdir); others are implied by files. */
  readonly dirs = new Set<string>();
  readonly volumes = new Map<string, FakeVolume>();
  readonly calls: FakeCall[] = [];
  readonly faults = new Map<ServiceName, { status: number; remaining: number }[]>();
  private nextVolumeId = 1;
  rules: LocationRule[] = [];

  constructor(version: string, iamReadOnly: boolean) {
    this.version = version;
    this.v = parseVersion(version);
    this.iamReadOnly = iamReadOnly;
  }

  atLeast(v: string): boolean {
    return this.v >= parseVersion(v);
  }

  // ---- faults -----------------------------------------------------------------------------

  takeFault(service: ServiceName): number | undefined {
    const q = this.faults.get(service);
    const f = q?.[0];
    if (!q || !f) return undefined;
    f.remaining -= 1;
    if (f.remaining <= 0) q.shift();
    return f.status;
  }

  // ---- identities -------------------------------------------------------------------------

  authEnabled(): boolean {
    return this.identities.length > 0;
  }

  findIdentity(name: string): FakeIdentity | undefined {
    return this.identities.find((i) => i.name === name);
  }

  lookupAccessKey(accessKey: string): { identity: FakeIdentity; credential: FakeCredential } | undefined {
    for (const identity of this.identities) {
      const credential = identity.credentials.find((c) => c.accessKey === accessKey);
      if (credential) return { identity, credential };
    }
    return undefined;
  }

  newIdentity(name: string, actions: string[] = []): FakeIdentity {
    const identity: FakeIdentity = { name, userId: `AIDA${randomString(17)}`, created: new Date(), credentials: [], actions, policies: new Map() };
    this.identities.push(identity);
    return identity;
  }

  static isAdmin(identity: FakeIdentity): boolean {
    return identity.actions.includes('Admin');
  }

  /**
   * SeaweedFS `CanDo`: bare `Admin` → all; bare `<action>` → every bucket; `<action>:<bucket>` or
   * `Admin:<bucket>` exact; wildcard patterns against `<action>:<bucket>/<key>` (and the Admin
   * variant). Before 4.07 only a trailing `*` was honoured (prefix match).
   */
  canDo(identity: FakeIdentity, action: string, bucket: string, key = ''): boolean {
    const target = `${action}:${bucket}${key ? `/${key}` : ''}`;
    const adminTarget = `Admin:${bucket}${key ? `/${key}` : ''}`;
    for (const a of identity.actions) {
      if (a === 'Admin' || a === action) return true;
      if (hasWildcard(a)) {
        if (this.atLeast('4.07')) {
          if (wildcardMatch(a, target) || wildcardMatch(a, adminTarget)) return true;
        } else if (a.endsWith('*')) {
          const p = a.slice(0, -1);
          if (target.startsWith(p) || adminTarget.startsWith(p)) return true;
        }
      } else if (a === `${action}:${bucket}` || a === `Admin:${bucket}`) {
        return true;
      }
    }
    return false;
  }

  /** ListBuckets filter: the identity holds some grant touching this bucket. */
  canSeeBucket(identity: FakeIdentity, bucket: string): boolean {
    for (const a of identity.actions) {
      const i = a.indexOf(':');
      if (i < 0) return true;
      const scope = a.slice(i + 1);
      const scopeBucket = scope.split('/')[0] ?? '';
      if (hasWildcard(scopeBucket) ? wildcardMatch(scopeBucket, bucket) : scopeBucket === bucket) return true;
    }
    return false;
  }

  // ---- filer.conf ---------------------------------------------------------------------------

  /** Parse and install filer.conf; throws on invalid JSON. */
  setFilerConf(body: Buffer): void {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    const rules: LocationRule[] = [];
    const locations = (parsed as { locations?: unknown })?.locations;
    if (Array.isArray(locations)) {
      for (const loc of locations) {
        if (!loc || typeof loc !== 'object') continue;
        const l = loc as Record<string, unknown>;
        const prefix = l.locationPrefix ?? l.location_prefix;
        const ro = l.readOnly ?? l.read_only;
        if (typeof prefix === 'string') rules.push({ locationPrefix: prefix, readOnly: ro === true || ro === 'true' });
      }
    }
    this.rules = rules;
  }

  /** Read-only rules are OR-ed: any matching rule with readOnly locks the path. */
  isReadOnly(fullPath: string): boolean {
    return this.rules.some((r) => r.readOnly && fullPath.startsWith(r.locationPrefix));
  }

  // ---- buckets, objects, volumes ----------------------------------------------------------

  createBucket(name: string, owner?: string): FakeBucket {
    const b: FakeBucket = { name, created: new Date(), objects: new Map(), uploads: new Map() };
    if (owner !== undefined) b.owner = owner;
    this.buckets.set(name, b);
    return b;
  }

  /** Drop a bucket, its collection (volumes) and, like SeaweedFS, bucket-scoped action strings. */
  deleteBucket(name: string): void {
    this.buckets.delete(name);
    this.volumes.delete(name);
    const prefixForm = this.atLeast('4.38');
    for (const ident of this.identities) {
      ident.actions = ident.actions.filter((a) => {
        const i = a.indexOf(':');
        if (i < 0) return true;
        const scope = a.slice(i + 1);
        if (scope === name) return false;
        if (prefixForm && scope.startsWith(`${name}/`)) return false;
        return true;
      });
    }
  }

  private volumeFor(collection: string): FakeVolume {
    let v = this.volumes.get(collection);
    if (!v) {
      v = { id: this.nextVolumeId++, collection, fileCount: 0, deleteCount: 0, deletedBytes: 0, copies: 1 };
      this.volumes.set(collection, v);
    }
    return v;
  }

  ensureVolume(collection: string): FakeVolume {
    return this.volumeFor(collection);
  }

  /** Store an object; the old version (if any) becomes garbage in the collection's volume. */
  putObject(bucket: FakeBucket, key: string, obj: FakeObject): void {
    this.removeObject(bucket, key);
    bucket.objects.set(key, obj);
    // Zero-byte objects have no chunks: nothing lands on a volume.
    if (obj.body.length > 0) this.volumeFor(bucket.name).fileCount += 1;
  }

  removeObject(bucket: FakeBucket, key: string): boolean {
    const old = bucket.objects.get(key);
    if (!old) return false;
    bucket.objects.delete(key);
    const v = this.volumes.get(bucket.name);
    if (v && old.body.length > 0) {
      v.deleteCount += 1;
      v.deletedBytes += old.body.length;
    }
    return true;
  }

  liveBytes(bucket: string): number {
    let n = 0;
    for (const o of this.buckets.get(bucket)?.objects.values() ?? []) n += o.body.length;
    return n;
  }

  vacuum(collection?: string): void {
    for (const v of this.volumes.values()) {
      if (collection !== undefined && v.collection !== collection) continue;
      let live = 0;
      for (const o of this.buckets.get(v.collection)?.objects.values() ?? []) if (o.body.length > 0) live++;
      v.fileCount = live;
      v.deleteCount = 0;
      v.deletedBytes = 0;
    }
  }

  // ---- filer paths --------------------------------------------------------------------------

  /** `/buckets/<b>/<key>` → [bucket, key]; `/buckets/<b>` → [bucket, '']. */
  static splitBucketPath(p: string): { bucket: string; key: string } | undefined {
    if (!p.startsWith('/buckets/')) return undefined;
    const rest = p.slice('/buckets/'.length);
    if (!rest) return undefined;
    const i = rest.indexOf('/');
    return i < 0 ? { bucket: rest, key: '' } : { bucket: rest.slice(0, i), key: rest.slice(i + 1) };
  }
}
