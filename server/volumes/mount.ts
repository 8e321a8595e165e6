/**
 * How to mount a volume: the `juicefs mount` command, an `/etc/fstab` line and JuiceFS CSI driver
 * manifests, built from what the volume's setting says (name, storage, bucket) and the keys the
 * caller may see. Pure: no I/O, so every engine/storage combination is checked without servers.
 *
 * Two things never appear here: a metadata password (Redis volumes get `META_PASSWORD`, which
 * JuiceFS reads from the environment when the URL has none; juicefs pkg/meta/redis.go) and, for a
 * caller without the right to them, the storage keys (placeholders instead).
 */
import { stringify } from 'yaml';
import type { EngineKind } from './volume.js';

/** Placeholder for the metadata password; also the variable JuiceFS reads it from. */
export const META_PASSWORD_VAR = 'META_PASSWORD';
/** Placeholders given instead of storage keys to callers who may not see them. */
export const ACCESS_KEY_PLACEHOLDER = '<ACCESS_KEY>';
export const SECRET_KEY_PLACEHOLDER = '<SECRET_KEY>';

/** Everything the instructions are built from. */
export interface MountInput {
  volumeId: string;
  /** Headroom's volume name (used for the mount point and Kubernetes object names). */
  volumeName: string;
  tenantId: string;
  engine: EngineKind;
  /** The meta URL to hand out: never with a password. */
  metaUrl: string;
  /** True when the metadata server needs a password the URL does not carry. */
  needsMetaPassword: boolean;
  /** The setting's JuiceFS name, storage type and bucket. */
  juicefsName: string;
  storage: string;
  bucket: string;
  /** Keys to show: the real ones, or undefined for placeholders. */
  keys?: { accessKey: string; secretKey: string };
  /** Hard byte limit (null = unlimited): the capacity Kubernetes is told about. */
  hardBytes: bigint | null;
}

/** One environment variable the mount needs. */
export interface MountEnv {
  name: string;
  value: string;
  description: string;
}

/** The API answer of `GET /v1/volumes/{id}/mount`. */
export interface MountInstructions {
  volumeId: string;
  engine: EngineKind;
  metaUrl: string;
  juicefsName: string;
  mountPoint: string;
  storage: { kind: string; bucket: string; accessKey: string; secretKey: string };
  secretsIncluded: boolean;
  environment: MountEnv[];
  command: string;
  fstab: string;
  kubernetes: { secret: string; persistentVolume: string; persistentVolumeClaim: string };
  notes: string[];
}

/** Kubernetes needs a capacity on PVs and PVCs; JuiceFS enforces the real one, so unlimited shows as 1 PiB. */
const UNLIMITED_CAPACITY = '1Pi';

/** Single-quotes a word for POSIX shells (the local meta URL has a `?`, any URL may have `&`). */
function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Builds the instructions for one volume. */
export function mountInstructions(m: MountInput): MountInstructions {
  const mountPoint = `/mnt/jfs/${m.volumeName}`;
  const s3 = m.storage !== 'file';
  const accessKey = s3 ? (m.keys?.accessKey ?? ACCESS_KEY_PLACEHOLDER) : '';
  const secretKey = s3 ? (m.keys?.secretKey ?? SECRET_KEY_PLACEHOLDER) : '';
  const environment: MountEnv[] = m.needsMetaPassword
    ? [{ name: META_PASSWORD_VAR, value: `<${META_PASSWORD_VAR}>`, description: "The metadata server's password (ask the platform team); JuiceFS reads it from this variable" }]
    : [];
  const envPrefix = environment.map((e) => `${e.name}=${shellQuote(e.value)} `).join('');
  return {
    volumeId: m.volumeId,
    engine: m.engine,
    metaUrl: m.metaUrl,
    juicefsName: m.juicefsName,
    mountPoint,
    storage: { kind: m.storage, bucket: m.bucket, accessKey, secretKey },
    secretsIncluded: s3 && !!m.keys,
    environment,
    command: `${envPrefix}juicefs mount --background ${shellQuote(m.metaUrl)} ${shellQuote(mountPoint)}`,
    // fstab has no environment: mount.juicefs takes the password from META_PASSWORD_FILE instead (see notes).
    fstab: `${m.metaUrl} ${mountPoint} juicefs _netdev 0 0`,
    kubernetes: kubernetesManifests(m, s3 ? { accessKey, secretKey } : undefined, environment),
    notes: mountNotes(m, s3),
  };
}

/** The CSI driver's Secret, PersistentVolume and PersistentVolumeClaim, as YAML; `keys` only for S3 storage. */
function kubernetesManifests(m: MountInput, keys: { accessKey: string; secretKey: string } | undefined, environment: MountEnv[]): MountInstructions['kubernetes'] {
  const k8sName = `juicefs-${m.juicefsName}`.slice(0, 63).replace(/-+$/, '');
  const capacity = m.hardBytes === null ? UNLIMITED_CAPACITY : m.hardBytes.toString();
  // The CSI driver runs `juicefs format` with these fields before mounting; on a formatted volume
  // that is a no-op when they match the setting, so they must be exactly the setting's values.
  const stringData: Record<string, string> = { name: m.juicefsName, metaurl: m.metaUrl, storage: m.storage, bucket: m.bucket };
  if (keys) Object.assign(stringData, { 'access-key': keys.accessKey, 'secret-key': keys.secretKey });
  if (environment.length) stringData.envs = JSON.stringify(Object.fromEntries(environment.map((e) => [e.name, e.value])));
  const labels = { 'app.kubernetes.io/managed-by': 'headroom', 'headroom.io/volume-id': m.volumeId, 'headroom.io/tenant': m.tenantId };
  const secret = stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: k8sName, namespace: 'default', labels: { ...labels, 'juicefs.com/validate-secret': 'true' } },
    type: 'Opaque',
    stringData,
  });
  // Static provisioning: one PV for the whole volume, since Headroom's quota is per volume (a
  // StorageClass would give every claim a subdirectory that the volume's quota cannot tell apart).
  const persistentVolume = stringify({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: k8sName, labels: { ...labels, 'juicefs-name': m.juicefsName } },
    spec: {
      capacity: { storage: capacity },
      volumeMode: 'Filesystem',
      accessModes: ['ReadWriteMany'],
      persistentVolumeReclaimPolicy: 'Retain',
      csi: { driver: 'csi.juicefs.com', volumeHandle: k8sName, fsType: 'juicefs', nodePublishSecretRef: { name: k8sName, namespace: 'default' } },
    },
  });
  const persistentVolumeClaim = stringify({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: k8sName, namespace: 'default', labels },
    spec: {
      accessModes: ['ReadWriteMany'],
      volumeMode: 'Filesystem',
      storageClassName: '',
      resources: { requests: { storage: capacity } },
      selector: { matchLabels: { 'juicefs-name': m.juicefsName } },
    },
  });
  return { secret, persistentVolume, persistentVolumeClaim };
}

/** What the caller should know before mounting: engine, storage, hidden keys, password. */
function mountNotes(m: MountInput, s3: boolean): string[] {
  const notes: string[] = [];
  if (m.engine === 'local') {
    notes.push("local:// is Headroom's embedded metadata store, not a JuiceFS scheme: juicefs cannot mount it. Use an etcd, tikv or redis volume for real mounts.");
  }
  if (!s3) notes.push(`Objects are JuiceFS "file" storage under ${m.bucket} on the Headroom host: mount where that directory is.`);
  if (s3 && !m.keys)
    notes.push(
      "The storage keys are placeholders: only an admin or an engineer of the volume's tenant gets them. juicefs mount reads the keys from the volume's setting; the CSI driver needs them in its Secret.",
    );
  if (m.needsMetaPassword) {
    notes.push(`Set ${META_PASSWORD_VAR} to the metadata password before mounting; for /etc/fstab, write it to a root-only file and set META_PASSWORD_FILE in the mount's environment.`);
  }
  notes.push("Headroom enforces the quota through the volume's setting; mounts see a change within about a minute.");
  return notes;
}
