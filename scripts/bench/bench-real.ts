/**
 * bench:real — Headroom's walk of a real, FUSE-written JuiceFS volume against `du` and
 * `juicefs summary` on the same mount, and the freeze lag seen from that mount.
 *
 *   npm run bench:real [-- --files 200000] [--dirs 2000] [--workers 4] [--heartbeat 1]
 *
 * Runs as root (FUSE). Starts etcd on free loopback ports, a Headroom app on a scratch PostgreSQL
 * database (DATABASE_URL's server, else 127.0.0.1:5432) that formats its volumes on that etcd
 * with JuiceFS `file` storage in a temp folder, creates one volume through the HTTP API, mounts it
 * with the real `juicefs mount` (1.4), and writes N small files (0–16 KiB, one in 2,000 of
 * 1–4 MiB) into D leaf directories (grouped under ⌈D/100⌉ parents, so the roll-up has two
 * levels) from several writer processes. Then, in this order, one run each:
 *   (a) Headroom's walk with per-directory roll-up, as the service runs it (`WalkService.walkNow`:
 *       JuiceFsMetadata.walk, the roll-up, and storing the directories), peak RSS around it;
 *   (b) `du -sb` of the mount (JuiceFS's virtual root entries excluded, so its figure is checkable);
 *   (c) `juicefs summary --depth 0 --strict` of the mount (the accurate tree summary; the
 *       default, non-strict one reads the directory stats JuiceFS keeps and is printed as well).
 * It prints the times, a/b and a/c (targets ≤ 0.5), checks the walk's totals against the counters
 * (df on the mount), du and summary, and measures the freeze lag: an admin freeze through the
 * API, then fresh 8 KiB writes every 100 ms until one fails with ENOSPC (target ≤ heartbeat + 2 s).
 * Everything is cleaned up, on error and on SIGINT/SIGTERM too: no FUSE mount, etcd, database or
 * temp folder is left behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { buildApp } from '../../server/app.js';
import { signToken } from '../../server/auth/tokens.js';
import { loadConfig } from '../../server/config.js';
import { createDb } from '../../server/db/database.js';
import { migrateLatest } from '../../server/db/migrations.js';
import { findVolume } from '../../server/volumes/volume-store.js';
import { startEtcd, type TestEtcd } from '../../test/support/etcd.js';
import { fuseUsable, isMounted, JuiceFsCli, mount, unmountAll, type TestMount } from '../../test/support/real/juicefs.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** JuiceFS's virtual entries at the mount root: not inodes of the volume, left out of du. */
const VIRTUAL = ['.trash', '.stats', '.config', '.accesslog'];
/** How long any one external measurement may take before it is killed (du of 200k files over FUSE is minutes at worst). */
const STEP_TIMEOUT_MS = 30 * 60_000;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/**
 * Size of file k: mostly 0–16 KiB (a deterministic spread, so every run writes the same tree),
 * one in 2,000 between 1 and 4 MiB, so a few files span several 4 MiB-block slices' worth of data.
 */
function sizeOf(k: number): number {
  if (k % 2000 === 1999) return MiB + ((k * 7919) % (3 * MiB));
  return (k * 2_654_435_761) % (16 * KiB + 1);
}

/** Leaf directory d's path relative to the mount (parents of 100 leaves each). */
const leafDir = (d: number) => path.join(`g${String(Math.floor(d / 100)).padStart(3, '0')}`, `d${String(d).padStart(5, '0')}`);

/** Files [first, end) of leaf directory d: the N files spread evenly over the D leaves. */
const filesOf = (d: number, files: number, dirs: number) => [Math.floor((d * files) / dirs), Math.floor(((d + 1) * files) / dirs)] as const;

/**
 * Writer child: writes the files of leaf directories [from, to) through the mount, `concurrency`
 * at a time. FUSE writes are latency-bound (each create/close is a few metadata transactions), so
 * many in flight per process, in several processes, is what keeps the client and etcd busy.
 */
async function writer(mnt: string, from: number, to: number, files: number, dirs: number, concurrency: number): Promise<void> {
  const data = Buffer.alloc(4 * MiB, 0x5a);
  const jobs: Array<[string, number]> = [];
  for (let d = from; d < to; d++) {
    const [first, end] = filesOf(d, files, dirs);
    for (let k = first; k < end; k++) jobs.push([path.join(mnt, leafDir(d), `f${String(k).padStart(7, '0')}.bin`), sizeOf(k)]);
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const [file, size] = jobs[next++]!;
        await writeFile(file, data.subarray(0, size));
      }
    }),
  );
}

/** Runs `cmd args…` to completion (killed by its own PID after the timeout); its time and output. */
function timed(cmd: string, args: string[]): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - t0, code, stdout, stderr });
    });
  });
}

/** This process's peak resident set (VmHWM) in MiB. */
function vmHwmMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Resets VmHWM to the current RSS (Linux: `5` to clear_refs), so the peak read after the walk is
 * the walk's own and not the setup's. Returns false where the kernel refuses.
 */
function resetHwm(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** `df` on the mount: JuiceFS answers statfs from its counters (usedSpace, usedInodes). */
function df(mnt: string): { bytes: number; inodes: number } {
  const used = spawnSync('df', ['-B1', '--output=used', mnt], { encoding: 'utf8' }).stdout.split('\n')[1];
  const iused = spawnSync('df', ['--output=iused', mnt], { encoding: 'utf8' }).stdout.split('\n')[1];
  return { bytes: Number(used), inodes: Number(iused) };
}

/** Tries a fresh 8 KiB file every 100 ms until one fails; the time from `t0` and the error. */
async function untilWriteFails(dir: string, timeoutMs: number): Promise<{ ms: number; err: NodeJS.ErrnoException; attempts: number }> {
  const t0 = performance.now();
  for (let i = 0; ; i++) {
    try {
      await writeFile(path.join(dir, `probe-${i}`), Buffer.alloc(8 * KiB, 1));
    } catch (e) {
      return { ms: performance.now() - t0, err: e as NodeJS.ErrnoException, attempts: i + 1 };
    }
    if (performance.now() - t0 > timeoutMs) throw new Error(`writes still succeed ${Math.round(performance.now() - t0)} ms after the freeze`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--writer')) {
    const n = (name: string) => Number(arg(name, '0'));
    return writer(arg('mnt', ''), n('from'), n('to'), n('files'), n('dirs'), n('concurrency'));
  }
  const files = Number(arg('files', '200000'));
  const dirs = Number(arg('dirs', '2000'));
  const workers = Number(arg('workers', '4'));
  const heartbeat = Number(arg('heartbeat', '1'));
  if (!fuseUsable()) throw new Error('bench:real needs root and /dev/fuse (juicefs mount)');
  const cli = JuiceFsCli.of('juicefs-1.4');
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `headroom_bench_real_${process.pid}`;

  // Everything started is registered here at once, so cleanup (also on a signal) stops exactly that.
  let tmp: string | undefined;
  let etcd: TestEtcd | undefined;
  let m: TestMount | undefined;
  let db: ReturnType<typeof createDb> | undefined;
  let app: ReturnType<typeof buildApp> | undefined;
  let server: http.Server | undefined;
  let dbCreated = false;
  const writers = new Set<ChildProcess>();
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      // Writers still running (another one failed) would hold the mount busy: stop them by PID.
      for (const c of writers) if (c.exitCode === null) c.kill('SIGKILL');
      // The mount first: it is a client of etcd and must end its session while etcd still answers.
      await m?.stop().catch((e: unknown) => console.error('unmount:', e));
      await unmountAll().catch(() => {});
      if (m && isMounted(m.path)) spawnSync('umount', ['-l', m.path], { stdio: 'ignore' });
      if (server) await new Promise((r) => server!.close(r));
      await app?.close().catch(() => {});
      await db?.destroy().catch(() => {});
      await etcd?.stop().catch(() => {});
      if (dbCreated) {
        const admin = new pg.Client({ connectionString: adminUrl });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).finally(() => admin.end());
      }
      if (tmp) await rm(tmp, { recursive: true, force: true });
    })());
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`\n${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'headroom-bench-real-'));
    etcd = await startEtcd();
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`).finally(() => admin.end());
    dbCreated = true;
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    db = createDb(url.toString(), 10);
    await migrateLatest(db);
    const config = loadConfig({
      DATABASE_URL: url.toString(),
      DATA_DIR: path.join(tmp, 'data'),
      LOG_LEVEL: 'silent',
      SCHEDULER_ENABLED: 'false',
      ETCD_ENDPOINTS: etcd.endpoint,
      META_ENGINE: 'etcd',
      OBJECTS_DIR: path.join(tmp, 'objects'),
      JUICEFS_TRASH_DAYS: '1',
    });
    const jwtSecret = 'bench-real-secret-0123456789-0123456789';
    app = buildApp({ config, log: pino({ level: 'silent' }), db, jwtSecret, webhookSecret: 'bench-real-webhook-secret' });
    // The API over a real socket: the freeze is timed from the moment its HTTP answer arrives.
    server = http.createServer(app.http);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const auth = { authorization: `Bearer ${signToken({ secret: jwtSecret, issuer: config.auth.issuer }, { sub: 'bench', role: 'admin' }, 24 * 3600)}`, 'content-type': 'application/json' };
    const api = async (method: string, p: string, body?: object) => {
      const res = await fetch(base + p, { method, headers: auth, body: body && JSON.stringify(body) });
      const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    await api('POST', '/v1/tenants', { id: 'bench', displayName: 'Bench', email: 'bench@example.com' });
    const vol = await api('POST', '/v1/tenants/bench/volumes', { name: 'real', quota: { hardBytes: 100 * 1024 ** 3 } });
    if (vol.state !== 'active') throw new Error(`volume is ${vol.state}, not active`);

    m = await mount(cli, String(vol.metaUrl), { heartbeat });
    const groups = Math.ceil(dirs / 100);
    console.log(`bench:real — etcd ${etcd.endpoint}, volume ${vol.id} (${vol.metaUrl}), juicefs 1.4 FUSE mount at ${m.path}, heartbeat ${heartbeat} s`);

    // Setup: the directories from here (few), the files from `workers` writer processes.
    const tSetup = performance.now();
    for (let d = 0; d < dirs; d++) mkdirSync(path.join(m.path, leafDir(d)), { recursive: true });
    let expectedLogical = 0;
    for (let k = 0; k < files; k++) expectedLogical += sizeOf(k);
    const per = Math.ceil(dirs / workers);
    const self = fileURLToPath(import.meta.url);
    const progress = setInterval(() => {
      const u = df(m!.path);
      console.log(`  … ${u.inodes} inodes, ${(u.bytes / MiB).toFixed(0)} MiB after ${((performance.now() - tSetup) / 1000).toFixed(0)} s`);
    }, 30_000);
    try {
      await Promise.all(
        Array.from({ length: workers }, (_, w) => {
          const from = w * per;
          const to = Math.min(dirs, from + per);
          if (from >= to) return Promise.resolve();
          const args = [...process.execArgv, self, '--writer', '--mnt', m!.path, '--from', String(from), '--to', String(to), '--files', String(files), '--dirs', String(dirs), '--concurrency', '16'];
          return new Promise<void>((resolve, reject) => {
            const c = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
            writers.add(c);
            c.once('error', reject);
            c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${w} exited ${code}`))));
          });
        }),
      );
    } finally {
      clearInterval(progress);
    }
    spawnSync('sync', ['-f', m.path]);
    // The client flushes its counter deltas about once a second: wait until df holds still.
    let u = df(m.path);
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 1500));
      const again = df(m.path);
      if (again.bytes === u.bytes && again.inodes === u.inodes) break;
      u = again;
    }
    const setupMs = performance.now() - tSetup;
    const totalDirs = dirs + groups;
    console.log(
      `setup: ${files} files (${(expectedLogical / MiB).toFixed(0)} MiB) in ${dirs} leaf directories under ${groups} parents, ${workers} writers × 16 in flight: ${secs(setupMs)} (${Math.round(files / (setupMs / 1000))} files/s); df: ${u.bytes} B used, ${u.inodes} inodes`,
    );

    // (a) the walk, as the service runs it; peak RSS from a VmHWM reset just before it.
    const v = await findVolume(db, String(vol.id));
    if (!v) throw new Error('volume row not found');
    const hwmReset = resetHwm();
    const rssBefore = vmHwmMb();
    const t0 = performance.now();
    const walk = await app.services.walks.walkNow(v, {});
    const walkMs = performance.now() - t0;
    const walkHwm = vmHwmMb();
    if (walk?.state !== 'succeeded') throw new Error(`walk ${walk?.state}: ${walk?.error}`);
    const result = walk.result as { directories: number; totals: Record<string, string>; trash: Record<string, string>; counters: Record<string, string>; mismatch: unknown };
    console.log(
      `(a) Headroom walk with roll-up (walkNow)     : ${secs(walkMs)}, ${walk.keysRead} keys, ${result.directories} directories, ${result.totals.inodes} inodes, ${Math.round(Number(result.totals.inodes) / (walkMs / 1000))} inodes/s`,
    );
    console.log(
      `    peak RSS: ${hwmReset ? `${walkHwm.toFixed(0)} MiB during the walk (VmHWM reset at ${rssBefore.toFixed(0)} MiB just before)` : `VmHWM ${walkHwm.toFixed(0)} MiB (could not reset)`}; process maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
    );

    // (b) du of the mount: every inode stat'ed through FUSE.
    const du = await timed('du', ['-sb', ...VIRTUAL.map((x) => `--exclude=${x}`), m.path]);
    if (du.code !== 0) throw new Error(`du exited ${du.code}: ${du.stderr}`);
    const duBytes = Number(du.stdout.split('\t')[0]);
    console.log(`(b) du -sb of the mount                      : ${secs(du.ms)} (${duBytes} B apparent)`);

    // (c) juicefs summary: strict (an accurate walk in the client), then the default (directory stats).
    const summary = async (strict: boolean) => {
      const r = await timed(cli.bin, ['summary', '--depth', '0', '--csv', ...(strict ? ['--strict'] : []), m!.path]);
      if (r.code !== 0) throw new Error(`juicefs summary exited ${r.code}: ${r.stderr}`);
      // CSV: a header line "PATH,SIZE,DIRS,FILES" then the root's line.
      const lines = r.stdout.trim().split('\n');
      const head = lines[0]!.split(',').map((h) => h.trim().toUpperCase());
      const row = lines[1]!.split(',');
      const col = (n: string) => Number(row[head.indexOf(n)]);
      return { ms: r.ms, size: col('SIZE'), dirs: col('DIRS'), files: col('FILES'), raw: r.stdout.trim() };
    };
    const strict = await summary(true);
    console.log(`(c) juicefs summary --depth 0 --strict       : ${secs(strict.ms)} (size ${strict.size} B, ${strict.dirs} dirs, ${strict.files} files)`);
    const loose = await summary(false);
    console.log(`    juicefs summary --depth 0 (dir stats)    : ${secs(loose.ms)} (size ${loose.size} B, ${loose.dirs} dirs, ${loose.files} files)`);
    console.log(`a/b = ${(walkMs / du.ms).toFixed(2)} (target <= 0.5), a/c = ${(walkMs / strict.ms).toFixed(2)} (target <= 0.5); a/(non-strict summary) = ${(walkMs / loose.ms).toFixed(2)}`);

    // Checks: walk totals against the counters (df), du's apparent size and summary's counts.
    const top = await api('GET', `/v1/volumes/${vol.id}/directories?depth=0&limit=1`);
    const root = (top.items as Array<Record<string, unknown>>).find((d) => d.path === '/');
    const walkBytes = BigInt(result.totals.bytes!) + BigInt(result.trash.bytes!);
    const walkInodes = BigInt(result.totals.inodes!) + BigInt(result.trash.inodes!);
    const dfNow = df(m.path);
    const rootDirs = Number(root?.dirs ?? NaN);
    const duWant = Number(result.totals.logicalBytes) + 4096 * (rootDirs + 1); // du counts each directory as 4096, the root too
    const checks = [
      ['walk bytes (tree + trash) = df used', walkBytes === BigInt(dfNow.bytes), `${walkBytes} vs ${dfNow.bytes}`],
      ['walk inodes (tree + trash) = df -i used', walkInodes === BigInt(dfNow.inodes), `${walkInodes} vs ${dfNow.inodes}`],
      ['walk mismatch with counters', result.mismatch === null, JSON.stringify(result.mismatch)],
      ['walk logical bytes + 4096 per dir = du -sb', duWant === duBytes, `${duWant} vs ${duBytes}`],
      ['walk logical bytes = bytes written', Number(result.totals.logicalBytes) === expectedLogical, `${result.totals.logicalBytes} vs ${expectedLogical}`],
      [
        'walk dirs / files = summary --strict',
        rootDirs + 1 === strict.dirs && Number(result.totals.inodes) - rootDirs === strict.files,
        `${rootDirs + 1} dirs, ${Number(result.totals.inodes) - rootDirs} files vs ${strict.dirs}, ${strict.files}`,
      ],
      ['walk dirs = written', rootDirs === totalDirs, `${rootDirs} vs ${totalDirs}`],
    ] as const;
    for (const [what, ok, detail] of checks) console.log(`check: ${what}: ${ok ? 'OK' : 'MISMATCH'} (${detail})`);

    // Freeze lag: from the API's answer to the first failing write on the mount.
    const probes = path.join(m.path, 'probes');
    mkdirSync(probes);
    await writeFile(path.join(probes, 'before'), Buffer.alloc(8 * KiB, 1));
    await api('POST', `/v1/volumes/${vol.id}/freeze`, { reason: 'bench:real freeze lag' });
    const frozen = await untilWriteFails(probes, heartbeat * 1000 + 30_000);
    const target = heartbeat * 1000 + 2000;
    console.log(
      `freeze lag: ${Math.round(frozen.ms)} ms (${frozen.attempts} attempts), writes fail with ${frozen.err.code}; heartbeat ${heartbeat} s, target <= ${target} ms: ${frozen.err.code === 'ENOSPC' && frozen.ms <= target ? 'OK' : 'MISSED'}`,
    );
    await api('POST', `/v1/volumes/${vol.id}/unfreeze`, { reason: 'bench:real done' });
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const left = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .filter((l) => l.includes('headroom-jfs-mount-'));
    console.log(left.length ? `LEFT MOUNTED: ${left.join('; ')}` : 'cleanup: unmounted, etcd stopped, scratch database dropped, temp folders removed');
  }
}

await main();
