/**
 * bench:walk — the full walk of a volume against the floor of reading the same keys.
 *
 *   npm run bench:walk [-- --engine etcd|local|redis|all] [--files 50000,200000]
 *
 * For each engine and size it builds a volume of N files in N/100 directories (one 64 MiB-or-less
 * chunk each, so about 3 keys per file), then runs, each in a fresh child process so peak RSS is
 * the measured step's own:
 *   (a) floor: one unpaged range read of the whole volume prefix through the same engine client
 *       (Redis: SCAN of the dentry hashes and attrs, then HGETALL and MGET of them all, pipelined:
 *       the same keys the walk reads, with no decoding);
 *   (b) naive: the same range paged by `limit`, 10,000 keys per page;
 *   (c) Headroom's full walk with per-directory roll-up and enrichment (ages, sizes, types,
 *       series, largest files: WALK_ENRICH, server/meta/walk-profile.ts);
 *   (d) the same walk without enrichment (WALK_ENRICH=false).
 * Steps (c) and (d) run twice, interleaved, and the faster run of each counts (the machine may be
 * shared). It prints the times, c/a, c/d, inodes per second and peak RSS, and the scaling of c
 * between the smallest and largest size. etcd and redis-server are started here on free ports unless
 * ETCD_ENDPOINTS / REDIS_BENCH_URL are set. Redis has no step (b): it has no paged ranges.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KvEngine } from '../../server/engines/kv.js';
import { EtcdEngine } from '../../server/engines/etcd/etcd-engine.js';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import type { TreeFixture } from '../../server/meta/tree-fixture.js';
import { walkVolume } from '../../server/meta/tkv/walk.js';
import { Redis } from 'ioredis';
import { RedisFixtureBuilder } from '../../server/meta/redis/fixture.js';
import { RedisVolume } from '../../server/meta/redis/redis-volume.js';
import { walkRedisVolume } from '../../server/meta/redis/walk.js';
import { startEtcd } from '../../test/support/etcd.js';
import { startRedisServer } from '../../test/support/redis.js';

type Step = 'floor' | 'paged' | 'walk' | 'plain';
interface StepResult {
  ms: number;
  keys: number;
  maxRssMb: number;
  inodes?: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function openEngine(kind: string, where: string): KvEngine {
  return kind === 'etcd' ? new EtcdEngine({ endpoints: where.split(','), callTimeoutMs: 600_000 }) : new LocalEngine(where);
}

const prefixOf = (kind: string, files: number) => Buffer.from(kind === 'etcd' ? `/bench-${files}` : `bench-${files}`);

/** Redis: each size gets its own database, 1 + its index in `--files` (passed to children as --db). */
const redisClient = (where: string, db: number) => new Redis(where, { db, maxRetriesPerRequest: 2 });

/** The Redis floor: every dentry hash and every attr, read with pipelined SCAN, HGETALL and MGET. */
async function redisFloor(r: Redis): Promise<number> {
  let keys = 0;
  const scanAll = async (match: string, each: (batch: Buffer[]) => Promise<void>) => {
    let cursor = '0';
    do {
      const [next, found] = await r.scanBuffer(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next.toString();
      if (found.length) await each(found);
    } while (cursor !== '0');
  };
  await scanAll('d[0-9]*', async (dirs) => {
    for (let i = 0; i < dirs.length; i += 100) {
      const p = r.pipeline();
      for (const d of dirs.slice(i, i + 100)) p.hgetallBuffer(d);
      for (const [, v] of (await p.exec()) ?? []) keys += 1 + Object.keys(v as object).length;
    }
  });
  await scanAll('i[0-9]*', async (inodes) => {
    const got = await r.mgetBuffer(...inodes);
    keys += got.length;
  });
  return keys;
}

/** Child mode: run one step and print its result as JSON. */
async function runStep(kind: string, where: string, files: number, step: Step): Promise<void> {
  if (kind === 'redis') {
    const r = redisClient(where, Number(arg('db', '1')));
    const t0 = performance.now();
    let keys: number;
    let inodes: number | undefined;
    if (step === 'walk' || step === 'plain') {
      const w = await walkRedisVolume(r, { enrich: step === 'walk' });
      keys = w.keysRead;
      inodes = Number(w.tree.inodes + w.trash.inodes);
    } else keys = await redisFloor(r);
    const ms = performance.now() - t0;
    await r.quit();
    process.stdout.write(JSON.stringify({ ms, keys, maxRssMb: process.resourceUsage().maxRSS / 1024, inodes } satisfies StepResult) + '\n');
    return;
  }
  const engine = openEngine(kind, where);
  const v = new TkvVolume(engine, prefixOf(kind, files));
  const [start, end] = v.keys.range();
  const t0 = performance.now();
  let keys = 0;
  let inodes: number | undefined;
  if (step === 'walk' || step === 'plain') {
    const counters = await v.readCounters();
    const w = await walkVolume(engine, v.keys, { expectedInodes: counters.totalInodes, enrich: step === 'walk' });
    keys = w.keysRead;
    inodes = Number(w.tree.inodes + w.trash.inodes);
  } else {
    for await (const _ of engine.scan(start, end, { pageSize: step === 'floor' ? 100_000_000 : 10_000 })) keys++;
  }
  const ms = performance.now() - t0;
  await engine.close();
  const r: StepResult = { ms, keys, maxRssMb: process.resourceUsage().maxRSS / 1024, inodes };
  process.stdout.write(JSON.stringify(r) + '\n');
}

/** The benchmark tree, the same on every engine: `files` files in `files / 100` directories. */
async function fillTree(fx: TreeFixture<unknown>, files: number): Promise<void> {
  const dirs = Math.max(1, Math.floor(files / 100));
  let made = 0;
  for (let d = 0; d < dirs; d++) {
    const dir = await fx.mkdir(ROOT_INODE, `dir-${d}`);
    for (let f = 0; f < files / dirs; f++, made++) await fx.file(dir, `file-${f}.bin`, 1 + ((made * 7919) % 4_000_000));
  }
  await fx.finish();
}

async function buildRedis(where: string, files: number, db: number): Promise<void> {
  const r = redisClient(where, db);
  try {
    if ((await r.dbsize()) > 0) return; // already built
    await new RedisVolume(r).format({ name: `bench-${files}`, storage: 'file', bucket: '/tmp/bench/' });
    const fx = new RedisFixtureBuilder(r, undefined, { batchOps: 5000, concurrency: 4 });
    await fillTree(fx, files);
  } finally {
    await r.quit();
  }
}

async function build(kind: string, where: string, files: number, redisDb = 1): Promise<void> {
  if (kind === 'redis') return buildRedis(where, files, redisDb);
  const engine = openEngine(kind, where);
  const v = new TkvVolume(engine, prefixOf(kind, files));
  const [start, end] = v.keys.range();
  for await (const _ of engine.scan(start, end, { limit: 1 })) {
    await engine.close();
    return; // already built (local file reused between runs)
  }
  await v.format({ name: `bench-${files}`, storage: 'file', bucket: '/tmp/bench/' });
  const fx = new FixtureBuilder(engine, v.keys, { batchOps: kind === 'etcd' ? 120 : 5000, concurrency: 4 });
  await fillTree(fx, files);
  await engine.close();
}

function child(kind: string, where: string, files: number, step: Step, redisDb = 1): StepResult {
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--child', step, '--engine', kind, '--where', where, '--files', String(files), '--db', String(redisDb)],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as StepResult;
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    return runStep(arg('engine', ''), arg('where', ''), Number(arg('files', '0')), arg('child', 'walk') as Step);
  }
  const engines = arg('engine', 'all') === 'all' ? ['etcd', 'local', 'redis'] : [arg('engine', 'etcd')];
  const sizes = arg('files', '50000,200000').split(',').map(Number);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'headroom-bench-walk-'));
  const stops: Array<() => Promise<void>> = [];
  try {
    for (const kind of engines) {
      let where = path.join(tmp, 'local.db');
      if (kind === 'redis') {
        if (process.env.REDIS_BENCH_URL) where = process.env.REDIS_BENCH_URL;
        else {
          const server = await startRedisServer(16);
          stops.push(server.stop);
          where = server.url;
        }
      }
      if (kind === 'etcd') {
        if (process.env.ETCD_ENDPOINTS) where = process.env.ETCD_ENDPOINTS;
        else {
          const etcd = await startEtcd(['--max-request-bytes', String(64 << 20)]);
          stops.push(etcd.stop);
          where = etcd.endpoint;
        }
      }
      const walks: Record<number, number> = {};
      for (const files of sizes) {
        const tb = performance.now();
        const db = 1 + sizes.indexOf(files);
        await build(kind, where, files, db);
        console.log(`\n[${kind}] ${files} files in ${Math.max(1, Math.floor(files / 100))} dirs, built in ${((performance.now() - tb) / 1000).toFixed(1)} s`);
        // Warm once (page cache, etcd's index), then measure in the order a, b, c.
        child(kind, where, files, 'floor', db);
        const a = child(kind, where, files, 'floor', db);
        const b = kind === 'redis' ? a : child(kind, where, files, 'paged', db);
        // Interleaved so a noisy neighbour slows both kinds of walk alike; the faster of two counts.
        const runs = [child(kind, where, files, 'plain', db), child(kind, where, files, 'walk', db), child(kind, where, files, 'plain', db), child(kind, where, files, 'walk', db)];
        const faster = (x: StepResult, y: StepResult) => (x.ms <= y.ms ? x : y);
        const d = faster(runs[0]!, runs[2]!);
        const c = faster(runs[1]!, runs[3]!);
        walks[files] = c.ms;
        const s = (x: StepResult) => `${(x.ms / 1000).toFixed(2)} s, ${x.keys} keys, peak RSS ${x.maxRssMb.toFixed(0)} MB`;
        const line = (label: string, text: string) => console.log(`  ${label.padEnd(32)}: ${text}`);
        line(`(a) floor, ${kind === 'redis' ? 'pipelined reads' : 'one unpaged range'}`, s(a));
        if (kind !== 'redis') line('(b) paged by limit (10,000)', `${s(b)}   b/a = ${(b.ms / a.ms).toFixed(2)}`);
        line('(c) walk, enriched', s(c));
        line('(d) walk, plain (no enrichment)', s(d));
        console.log(
          `  c/a = ${(c.ms / a.ms).toFixed(2)} (target <= 1.5), d/a = ${(d.ms / a.ms).toFixed(2)}, ${Math.round((c.inodes ?? 0) / (c.ms / 1000))} inodes/s, enriched walk peak RSS ${c.maxRssMb.toFixed(0)} MB (target < 300)`,
        );
        console.log(`  enriched vs plain: c/d = ${(c.ms / d.ms).toFixed(2)} (target <= 1.2), peak RSS ${c.maxRssMb.toFixed(0)} vs ${d.maxRssMb.toFixed(0)} MB`);
      }
      if (sizes.length > 1) {
        const lo = Math.min(...sizes);
        const hi = Math.max(...sizes);
        console.log(`  [${kind}] scaling: c(${hi}) / c(${lo}) = ${(walks[hi]! / walks[lo]!).toFixed(2)} for ${(hi / lo).toFixed(1)}x the files (target <= ${((hi / lo) * 1.1).toFixed(1)})`);
      }
    }
  } finally {
    for (const stop of stops) await stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
