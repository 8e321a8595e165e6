/**
 * Running the real `juicefs` binary in tests: the meta-URL-only commands (format, status, fsck,
 * config, dump, quota) and FUSE mounts.
 *
 * Mounts run `juicefs mount` in the foreground as a child of the test process (root mounts
 * `/dev/fuse` directly; there is no fusermount here), in a temp folder with its own cache dir and
 * a metrics port picked free on loopback, so two suites never share anything. Every mount is
 * recorded in a module-level registry: {@link unmountAll} (call it from afterAll) unmounts the
 * lot, and a process `exit` hook does a lazy unmount of whatever is still there, so a crashed or
 * timed-out suite leaves no FUSE mount behind. Processes are only ever stopped by their own PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../servers.js';
import { toolPath, type ToolName } from './tools.js';

/** What a finished juicefs command printed and how it exited. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Flags of `juicefs format` the suites use (names as on the command line, values as strings). */
export interface FormatFlags {
  storage?: string;
  bucket?: string;
  accessKey?: string;
  secretKey?: string;
  /** KiB. */
  blockSize?: number;
  compress?: 'none' | 'lz4' | 'zstd';
  trashDays?: number;
  /** Bytes; passed as `<n>B`, so any byte value can be expressed. */
  capacity?: bigint;
  inodes?: bigint;
}

/** `juicefs status` output (the parts the suites read). */
export interface StatusJson {
  Setting: Record<string, unknown>;
  Sessions: unknown[];
  Stat?: { UsedSpace?: number; UsedInodes?: number; AvailableSpace?: number; AvailableInodes?: number };
}

/** Default time a juicefs command may take before the test gives up on it (and kills it). */
const COMMAND_TIMEOUT_MS = 60_000;

/** A juicefs binary bound to a version, with helpers for the meta-URL-only commands. */
export class JuiceFsCli {
  constructor(
    readonly bin: string,
    readonly tool: ToolName,
  ) {}

  /** The binary for `tool`, or throws (call `toolsAvailable` first to skip cleanly). */
  static of(tool: ToolName): JuiceFsCli {
    const bin = toolPath(tool);
    if (!bin) throw new Error(`${tool} is not built (run \`npm run tools\`)`);
    return new JuiceFsCli(bin, tool);
  }

  /**
   * Runs `juicefs args…` to completion. `--no-color`-like noise is not an issue: we only parse
   * stdout where the command prints JSON. Killed (by its PID) after `timeoutMs`.
   */
  run(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.bin, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? COMMAND_TIMEOUT_MS);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(opts.input ?? '');
    });
  }

  /** Runs and throws with the command's stderr tail when it exits non-zero. */
  async ok(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new Error(`juicefs ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
    return r;
  }

  /**
   * `juicefs format META NAME` with the flags given. `JFS_NO_CHECK_OBJECT_STORAGE` skips the
   * object-store round trip and the `<Name>/juicefs_uuid` object: a parity twin shares its
   * bucket and name with Headroom's volume, and must leave no object in it.
   */
  format(meta: string, name: string, f: FormatFlags = {}): Promise<RunResult> {
    const args = ['format', meta, name];
    if (f.storage) args.push('--storage', f.storage);
    if (f.bucket) args.push('--bucket', f.bucket);
    if (f.accessKey) args.push('--access-key', f.accessKey);
    if (f.secretKey) args.push('--secret-key', f.secretKey);
    if (f.blockSize !== undefined) args.push('--block-size', `${f.blockSize}K`);
    if (f.compress) args.push('--compress', f.compress);
    if (f.trashDays !== undefined) args.push('--trash-days', String(f.trashDays));
    if (f.capacity !== undefined) args.push('--capacity', `${f.capacity}B`);
    if (f.inodes !== undefined) args.push('--inodes', String(f.inodes));
    return this.ok(args, { env: { JFS_NO_CHECK_OBJECT_STORAGE: '1' } });
  }

  /** `juicefs status META`, parsed. */
  async status(meta: string): Promise<StatusJson> {
    const r = await this.ok(['status', meta]);
    return JSON.parse(r.stdout) as StatusJson;
  }

  /** `juicefs fsck META` (checks every object of every slice exists); resolves the raw result. */
  fsck(meta: string, extra: string[] = []): Promise<RunResult> {
    return this.run(['fsck', meta, ...extra], { timeoutMs: 120_000 });
  }

  /** `juicefs config META flags… --yes` (no prompt when the new limit is below usage). */
  config(meta: string, flags: string[]): Promise<RunResult> {
    return this.ok(['config', meta, ...flags, '--yes']);
  }

  /** `juicefs dump META` to stdout, parsed. */
  async dump(meta: string): Promise<Record<string, unknown>> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'headroom-jfs-dump-'));
    try {
      const file = path.join(dir, 'dump.json');
      await this.ok(['dump', meta, file]);
      return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** `juicefs quota SUBCOMMAND META args…`. */
  quota(sub: 'set' | 'get' | 'delete' | 'list' | 'check', meta: string, args: string[] = []): Promise<RunResult> {
    return this.run(['quota', sub, meta, ...args]);
  }
}

/** A running FUSE mount. */
export interface TestMount {
  /** The mount point. */
  path: string;
  /** PID of the `juicefs mount` process. */
  pid: number;
  meta: string;
  /** Last lines the mount logged (for failure messages). */
  log(): string;
  /** Unmounts (lazy unmount and SIGKILL of its own PID as fallbacks) and removes the temp folder. */
  stop(): Promise<void>;
}

/** Options of {@link mount}. */
export interface MountOptions {
  /** Seconds between the client's reloads of setting, counters and quotas (default 1). */
  heartbeat?: number;
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

const live = new Map<string, { child: ChildProcess; dir: string }>();
let exitHookInstalled = false;

/** True when `mnt` is a FUSE mount of JuiceFS right now (read from /proc/mounts). */
export function isMounted(mnt: string): boolean {
  try {
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .some((l) => {
        const [, where, type] = l.split(' ');
        return where === mnt && type === 'fuse.juicefs';
      });
  } catch {
    return false;
  }
}

/** Whether this machine can mount FUSE as this user (root and /dev/fuse). */
export function fuseUsable(): boolean {
  try {
    readFileSync('/proc/filesystems', 'utf8');
    return process.getuid?.() === 0 && spawnSync('test', ['-c', '/dev/fuse']).status === 0;
  } catch {
    return false;
  }
}

function lazyUnmount(mnt: string): void {
  spawnSync('umount', ['-l', mnt], { stdio: 'ignore' });
}

/**
 * Mounts `meta` with `juicefs mount` in the foreground, waits until the mount point answers,
 * and returns it. Heartbeat defaults to 1 s so that setting changes reach the client quickly.
 */
export async function mount(cli: JuiceFsCli, meta: string, opts: MountOptions = {}): Promise<TestMount> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Last resort for a run that dies before afterAll: no FUSE mount may outlive the test process.
    process.once('exit', () => {
      for (const [mnt, m] of live) {
        lazyUnmount(mnt);
        if (m.child.exitCode === null && m.child.pid) m.child.kill('SIGKILL');
      }
    });
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'headroom-jfs-mount-'));
  const mnt = path.join(dir, 'mnt');
  const metrics = await freePort();
  spawnSync('mkdir', ['-p', mnt, path.join(dir, 'cache')]);
  const args = [
    'mount',
    meta,
    mnt,
    '--heartbeat',
    `${opts.heartbeat ?? 1}s`,
    '--cache-dir',
    path.join(dir, 'cache'),
    '--metrics',
    `127.0.0.1:${metrics}`,
    '--no-usage-report',
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(cli.bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
  live.set(mnt, { child, dir });
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  while (!isMounted(mnt)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) child.kill('SIGKILL');
      live.delete(mnt);
      lazyUnmount(mnt);
      await rm(dir, { recursive: true, force: true });
      throw new Error(`juicefs mount ${meta} did not come up (exit ${child.exitCode}):\n${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (!live.has(mnt)) return;
    live.delete(mnt);
    const exited = child.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
    // A plain umount lets the client flush and end its session; the process exits by itself.
    if (isMounted(mnt)) spawnSync('umount', [mnt], { stdio: 'ignore' });
    const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
    if (!done || isMounted(mnt)) {
      lazyUnmount(mnt);
      if (child.exitCode === null) child.kill('SIGKILL');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    }
    await rm(dir, { recursive: true, force: true });
  };
  return { path: mnt, pid: child.pid!, meta, log: () => log, stop };
}

/** Unmounts every mount {@link mount} made in this process (for afterAll). */
export async function unmountAll(): Promise<void> {
  const pending = [...live.keys()];
  await Promise.all(
    pending.map(async (mnt) => {
      const m = live.get(mnt);
      if (!m) return;
      live.delete(mnt);
      spawnSync('umount', [mnt], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 200));
      if (isMounted(mnt)) lazyUnmount(mnt);
      if (m.child.exitCode === null) m.child.kill('SIGKILL');
      await rm(m.dir, { recursive: true, force: true });
    }),
  );
}
