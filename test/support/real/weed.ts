/**
 * A real SeaweedFS for tests: one `weed server -filer -s3` process (master, volume server,
 * filer, S3 gateway with the embedded IAM API) per caller, on loopback only, every port chosen
 * free, all state in a temp folder that stop() removes.
 *
 * Choices and why:
 * - Ports: each service gets an HTTP port p with p + 10000 also free, and p + 10000 is passed as
 *   its gRPC port explicitly. SeaweedFS derives gRPC = HTTP + 10000 when none is given and some
 *   peers still assume it, so keeping both true avoids surprises. The Iceberg and Lance listeners
 *   the S3 gateway opens by default (8181, 9101) are turned off; the volume server gets no public
 *   port; telemetry (an outbound HTTP call) is off.
 * - Admin identity: a static `-s3.config` file. The gateway merges static identities with the ones
 *   Headroom creates through IAM (stored in the filer), and a static one cannot be changed or
 *   deleted through the API, so tests cannot lock themselves out.
 * - `-s3.iam.readOnly=false`: IAM writes are refused by default since 4.08.
 * - `master.toml` in the folder sets `copy_1 = 1`: a new bucket (= collection) grows one volume
 *   instead of seven, so a few buckets fit in `-volume.max` and per-bucket sizes stay simple.
 * - `-volume.preStopSeconds=0`: by default the volume server waits 10 s on SIGTERM.
 * - `-s3.allowDeleteBucketNotEmpty` keeps its default (false since 4.x): Headroom must empty a
 *   bucket itself before deleting it, as on most clusters it will meet.
 * - The working directory and `-config_dir` are the temp folder, so no toml from the machine's
 *   `~/.seaweedfs` or `/etc/seaweedfs` is picked up ahead of ours.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { toolPath } from './tools.js';

/** A running SeaweedFS started by a test. */
export interface TestWeed {
  /** S3 gateway, also the embedded IAM endpoint (POST /). */
  s3Endpoint: string;
  filerUrl: string;
  masterUrl: string;
  /** Keys of the static `admin` identity (action `Admin`). */
  accessKey: string;
  secretKey: string;
  /** Temp folder with data, config and logs; removed by stop(). */
  dir: string;
  /** Kills the process (its own PID only) and removes {@link dir}. */
  stop(): Promise<void>;
  /** Stops the process (`signal`, SIGKILL after 10 s) and keeps its data: SeaweedFS is down. */
  halt(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts it again on the same ports and data after {@link halt}; resolves once it is ready as
   * after {@link startWeed}, writes included (a restarted master holds allocation for a while,
   * and until then the filer cannot store filer.conf).
   */
  restart(): Promise<void>;
}

/** The SEAWEEDFS_* variables that point Headroom at `weed` with its admin identity. */
export function weedEnv(weed: TestWeed): Record<string, string> {
  return {
    SEAWEEDFS_S3_ENDPOINT: weed.s3Endpoint,
    SEAWEEDFS_FILER_URL: weed.filerUrl,
    SEAWEEDFS_MASTER_URL: weed.masterUrl,
    SEAWEEDFS_ACCESS_KEY: weed.accessKey,
    SEAWEEDFS_SECRET_KEY: weed.secretKey,
  };
}

/** `weed version` of the built binary (e.g. "version 30GB 4.53 linux amd64"), or undefined. */
export function weedVersion(): string | undefined {
  const bin = toolPath('weed');
  if (!bin) return undefined;
  const r = spawnSync(bin, ['version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim().split('\n')[0] : undefined;
}

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 60_000;
/** Collection of the one warm-up assignment; deleted before startWeed() returns. */
const WARMUP = 'headroom-warmup';

/** True when nothing listens on 127.0.0.1:port (we could bind it). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/**
 * An HTTP port p in [20000, 45000) with p and p + 10000 bindable and not in `taken`. Random
 * rather than OS-assigned because OS ports are often above 55535, where p + 10000 overflows.
 */
async function portPair(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 25000);
    if (taken.has(p) || taken.has(p + 10000)) continue;
    if ((await bindable(p)) && (await bindable(p + 10000))) {
      taken.add(p).add(p + 10000);
      return p;
    }
  }
  throw new Error('no free port pair for SeaweedFS');
}

async function answers(url: string, ok: (res: Response) => Promise<boolean> | boolean, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    return await ok(res);
  } catch {
    return false;
  }
}

/**
 * Starts SeaweedFS and resolves once the master has a leader and a volume server with free
 * slots, the filer lists `/`, the S3 gateway accepts the admin key and the master assigns writes
 * (its start-up allocation hold is over). Throws, after killing the process, with the tail of
 * its output when it exits or does not get there within 60 s. One bucket holds one volume here
 * (`copy_1 = 1`) and `-volume.max=32`, so up to about 30 buckets can hold data at once.
 */
export async function startWeed(): Promise<TestWeed> {
  const bin = toolPath('weed');
  if (!bin) throw new Error('weed is not built (npm run tools)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'headroom-weed-'));
  const data = path.join(dir, 'data');
  const logs = path.join(dir, 'log');
  await mkdir(data);
  await mkdir(logs);
  const accessKey = `ADMIN${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretKey = randomBytes(24).toString('base64url');
  const s3Config = path.join(dir, 's3.json');
  await writeFile(s3Config, JSON.stringify({ identities: [{ name: 'admin', credentials: [{ accessKey, secretKey }], actions: ['Admin'] }] }, null, 2));
  await writeFile(path.join(dir, 'master.toml'), '[master.volume_growth]\ncopy_1 = 1\ncopy_2 = 2\ncopy_3 = 3\ncopy_other = 1\n');

  const taken = new Set<number>();
  const master = await portPair(taken);
  const volume = await portPair(taken);
  const filer = await portPair(taken);
  const s3 = await portPair(taken);
  const args = [
    `-config_dir=${dir}`,
    `-logdir=${logs}`,
    '-logtostderr=false',
    '-alsologtostderr=false',
    'server',
    `-ip=${HOST}`,
    `-ip.bind=${HOST}`,
    `-dir=${data}`,
    '-master.telemetry=false',
    `-master.port=${master}`,
    `-master.port.grpc=${master + 10000}`,
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volume + 10000}`,
    '-volume.max=32',
    '-volume.preStopSeconds=0',
    '-filer',
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filer + 10000}`,
    `-filer.localSocket=${path.join(dir, 'filer.sock')}`,
    '-s3',
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3 + 10000}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    `-s3.localSocket=${path.join(dir, 's3.sock')}`,
    `-s3.config=${s3Config}`,
    '-s3.iam.readOnly=false',
  ];
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8000));
  const launch = (): ChildProcess => {
    const c = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    return c;
  };
  let child = launch();

  const halt = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      }
    }
    // The in-process gRPC sockets SeaweedFS registers for these exact ports (named by port), and
    // the local sockets: a restart must find their paths free.
    const sockets = [
      ['master', master],
      ['volume', volume],
      ['filer', filer],
      ['s3', s3],
    ].map(([name, p]) => `/tmp/seaweedfs-${name}-grpc-${Number(p) + 10000}.sock`);
    await Promise.all([...sockets, path.join(dir, 'filer.sock'), path.join(dir, 's3.sock')].map((s) => rm(s, { force: true })));
  };
  const stop = async (): Promise<void> => {
    await halt('SIGTERM');
    // The readiness client is kept for restarts; declared below, set by the time stop can run.
    admin.destroy();
    await rm(dir, { recursive: true, force: true });
  };

  const weed: TestWeed = {
    s3Endpoint: `http://${HOST}:${s3}`,
    filerUrl: `http://${HOST}:${filer}`,
    masterUrl: `http://${HOST}:${master}`,
    accessKey,
    secretKey,
    dir,
    stop,
    halt,
    restart: async () => {
      child = launch();
      await waitReady();
    },
  };
  const admin = new S3Client({ endpoint: weed.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey }, maxAttempts: 1 });
  const ready = {
    // A leader and at least one volume server with free slots: before that, writes fail.
    master: () => answers(`${weed.masterUrl}/dir/status`, async (r) => r.ok && Number(((await r.json()) as { Topology?: { Free?: number } }).Topology?.Free ?? 0) > 0),
    filer: () => answers(`${weed.filerUrl}/`, (r) => r.ok),
    s3: async () => {
      try {
        await admin.send(new ListBucketsCommand({}));
        return true;
      } catch {
        return false;
      }
    },
    // A fresh master holds volume allocation for several seconds (it waits for volume servers to
    // report what they have); the first write of the first bucket would take that long. Wait it
    // out here with one assignment in a throwaway collection, then drop the collection, so callers
    // (and `juicefs format` with its timeouts) find a cluster that writes at once.
    writes: async () => {
      const ok = await answers(`${weed.masterUrl}/dir/assign?collection=${WARMUP}`, async (r) => r.ok && 'fid' in ((await r.json()) as object), 15_000);
      return ok && answers(`${weed.masterUrl}/col/delete?collection=${WARMUP}`, (r) => r.ok);
    },
  };
  const waitReady = async () => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (const [name, check] of Object.entries(ready)) {
      while (!(await check())) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`weed exited (${child.exitCode ?? child.signalCode}) before its ${name} was ready:\n${output}`);
        if (Date.now() > deadline) throw new Error(`weed's ${name} not ready within ${START_TIMEOUT_MS / 1000} s:\n${output}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  try {
    await waitReady();
  } catch (e) {
    await stop();
    throw e;
  }
  return weed;
}
