/**
 * A real etcd for tests: each test file starts its own on free ports with a temp data dir, and
 * stops it afterwards. Missing `etcd` binary: skip locally, fail under CI.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { canConnect, freePort, requireServer } from './servers.js';

/** A running etcd started by a test. */
export interface TestEtcd {
  endpoint: string;
  stop(): Promise<void>;
  /** SIGKILL, keeping its data (a crash). */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data after {@link kill}. */
  restart(): Promise<void>;
}

/** The etcd binary, if installed (`ETCD_BIN` overrides). */
export function etcdBinary(): string | undefined {
  if (process.env.ETCD_BIN) return process.env.ETCD_BIN;
  const r = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Whether tests can start etcd (throws under CI when they cannot). */
export function etcdAvailable(): boolean {
  return requireServer('etcd (apt-get install -y etcd-server)', etcdBinary() !== undefined);
}

/** Starts etcd on loopback and waits until it serves; `extraArgs` e.g. `--max-txn-ops=1024`. */
export async function startEtcd(extraArgs: string[] = []): Promise<TestEtcd> {
  const bin = etcdBinary();
  if (!bin) throw new Error('etcd binary not found');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'headroom-etcd-'));
  const client = await freePort();
  const peer = await freePort();
  const args = [
    '--name',
    'test',
    '--data-dir',
    path.join(dir, 'data'),
    '--listen-client-urls',
    `http://127.0.0.1:${client}`,
    '--advertise-client-urls',
    `http://127.0.0.1:${client}`,
    '--listen-peer-urls',
    `http://127.0.0.1:${peer}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peer}`,
    '--initial-cluster',
    `test=http://127.0.0.1:${peer}`,
    '--log-level',
    'error',
    '--quota-backend-bytes',
    String(8 * 1024 ** 3),
    ...extraArgs,
  ];
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const deadline = Date.now() + 20_000;
    while (!(await canConnect('127.0.0.1', client, 200))) {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}: ${stderr}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`etcd did not start in 20 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await launch();
  const exit = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return {
    endpoint: `127.0.0.1:${client}`,
    stop: async () => {
      await exit('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    kill: () => exit('SIGKILL'),
    restart: launch,
  };
}
