/**
 * `npm run demo [-- --reset] [--grace 5]`: shows Headroom working, against a running server.
 *
 * Creates tenant `demo` and three volumes on the server's default engine, fills them with
 * realistic JuiceFS trees written straight into their metadata (what JuiceFS clients would leave
 * there: a dataset of small images, checkpoints in numbered step folders, a conda environment
 * with hard links, caches, some trash), walks them, and drives `checkpoints` over its soft limit,
 * through a short grace period, to frozen, and back to ok after a quota request is approved. At
 * each step it prints what to look at.
 *
 * Talks to HEADROOM_URL (default http://localhost:8080) with HEADROOM_TOKEN, or with an admin
 * token it mints from JWT_SECRET or DATA_DIR/jwt-secret as `npm run token` does. Writing the trees
 * needs the metadata engine itself: the volume's meta URL comes from the API and is opened as
 * the server opens it (server/meta/engine-registry.ts; Redis with REDIS_META_URL's credentials).
 * For the default local engine that is the SQLite file the server has open: safe, as both sides
 * use WAL mode with a busy timeout and commit with BEGIN IMMEDIATE, so writers queue instead of
 * failing; the demo must then run on the server's host.
 *
 * Idempotent: existing volumes are reused, filled volumes are not filled again, walked volumes
 * not walked again, and the freeze cycle resumes where it stopped (or is skipped once done).
 * `--reset` deletes and purges the demo's volumes; the tenant stays (tenants cannot be deleted).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { signToken } from '../server/auth/tokens.js';
import { loadConfig } from '../server/config.js';
import { EngineRegistry } from '../server/meta/engine-registry.js';
import { RedisFixtureBuilder } from '../server/meta/redis/fixture.js';
import { isRedisUrl, parseRedisUrl } from '../server/meta/redis/redis-url.js';
import { FixtureBuilder } from '../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../server/meta/tkv/keys.js';
import { TkvVolume } from '../server/meta/tkv/tkv-volume.js';
import type { TreeFixture } from '../server/meta/tree-fixture.js';

type Json = Record<string, unknown>;

const TENANT = { id: 'demo', displayName: 'Demo team', email: 'demo@example.com' };
const GB = 1_000_000_000;

/** The demo's volumes: names, quotas and what goes in them. */
const VOLUMES = [
  { name: 'datasets', quota: { softBytes: 20 * GB, hardBytes: 25 * GB, softInodes: 50_000, hardInodes: 60_000 }, fill: fillDatasets },
  { name: 'checkpoints', quota: { softBytes: 90 * GB, hardBytes: 120 * GB }, fill: fillCheckpoints },
  { name: 'envs', quota: { softBytes: 40 * GB, hardBytes: 50 * GB, softInodes: 200_000, hardInodes: 250_000 }, fill: fillEnvs },
] as const;
/** The volume driven through soft → grace → frozen → ok. */
const CYCLED = 'checkpoints';

const { values: opts } = parseArgs({ options: { reset: { type: 'boolean' }, grace: { type: 'string', default: '5' } } });
const graceSeconds = Number(opts.grace);
if (!Number.isInteger(graceSeconds) || graceSeconds < 0) {
  console.error('--grace must be a whole number of seconds');
  process.exit(2);
}
const base = (process.env.HEADROOM_URL ?? 'http://localhost:8080').replace(/\/+$/, '');
const started = Date.now();

// --- talking to the API ---------------------------------------------------------------------

/** Tokens: the given one for everything, or minted ones (an engineer of `demo` files the request). */
function tokens(): { admin: string; engineer: string; minted: boolean } {
  if (process.env.HEADROOM_TOKEN) return { admin: process.env.HEADROOM_TOKEN, engineer: process.env.HEADROOM_TOKEN, minted: false };
  const config = loadConfig(process.env);
  const file = path.join(config.dataDir, 'jwt-secret');
  // Read, never create: a secret the server does not know would only mint tokens it refuses.
  const secret = config.auth.secret ?? (existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined);
  if (!secret) throw new Error(`no HEADROOM_TOKEN, no JWT_SECRET and no ${file}: start the server first (npm start), or set HEADROOM_TOKEN`);
  const s = { secret, issuer: config.auth.issuer };
  return { admin: signToken(s, { sub: 'demo-admin', role: 'admin' }, 3600), engineer: signToken(s, { sub: 'demo-engineer', role: 'engineer', tenants: [TENANT.id] }, 3600), minted: true };
}
const tok = tokens();

/** One API call; non-2xx answers are returned, not thrown, when `allow` lists their status. */
async function api(method: string, p: string, body?: object, o: { token?: string; allow?: number[] } = {}): Promise<{ status: number; body: Json; location?: string }> {
  const res = await fetch(base + p, {
    method,
    headers: { authorization: `Bearer ${o.token ?? tok.admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as Json) : {};
  if (!res.ok && !o.allow?.includes(res.status)) throw new Error(`${method} ${p}: ${res.status} ${json.code ?? ''} ${json.detail ?? text}`);
  return { status: res.status, body: json, location: res.headers.get('location') ?? undefined };
}

/** Polls `get` until `done` says so, every 200 ms, for at most `ms`. */
async function until<T>(what: string, get: () => Promise<T>, done: (x: T) => boolean, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const x = await get();
    if (done(x)) return x;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a job run now and waits for it to end. */
async function runJob(name: string): Promise<Json> {
  const r = await api('POST', `/v1/jobs/${name}/runs`);
  return until(
    `the ${name} job`,
    async () => (await api('GET', r.location!)).body,
    (run) => run.state !== 'running',
  );
}

// --- printing -------------------------------------------------------------------------------

const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
function step(title: string) {
  console.log(`\n== ${title}  [${elapsed()}]`);
}
const say = (s: string) => console.log(`   ${s}`);
const look = (p: string, why = '') => console.log(`   look: curl -s "${base}${p}" -H "authorization: Bearer $T"${why ? `   # ${why}` : ''}`);
const size = (n: unknown) => (typeof n === 'number' ? `${(n / GB).toFixed(2)} GB` : '-');

// --- the trees ------------------------------------------------------------------------------

type Tree = TreeFixture<unknown>;

/** Deterministic sizes, so two runs (and two machines) build the same trees. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (lo: number, hi: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return lo + ((x >>> 0) % (hi - lo + 1));
  };
}
const TRASH_HOUR = '2026-12-01-09';

/** A dataset of many small images: ImageNet-style class folders, annotations, a trashed copy. */
async function fillDatasets(t: Tree): Promise<void> {
  const r = rng(1);
  const root = await t.mkdir(ROOT_INODE, 'imagenet-mini');
  await t.file(root, 'README.md', 4_200);
  await t.file(root, 'labels.csv', 210_000);
  for (const split of [
    ['train', 100],
    ['val', 20],
  ] as const) {
    const s = await t.mkdir(root, split[0]);
    for (let c = 0; c < 40; c++) {
      const cls = await t.mkdir(s, `n0${1440764 + c * 7919}`);
      for (let i = 0; i < split[1]; i++) await t.file(cls, `img_${String(i).padStart(5, '0')}.JPEG`, r(40_000, 180_000));
    }
  }
  const coco = await t.mkdir(ROOT_INODE, 'coco-captions');
  const ann = await t.mkdir(coco, 'annotations');
  await t.file(ann, 'captions_train2017.json', 91_865_115);
  await t.file(ann, 'captions_val2017.json', 3_872_473);
  const trash = await t.trashDir(TRASH_HOUR);
  for (let i = 0; i < 200; i++) await t.file(trash, `${root}-${i}-img_old_${i}.JPEG`, r(40_000, 180_000));
}

/** Training checkpoints: big safetensors shards in numbered step folders, logs, a trashed optimizer. */
async function fillCheckpoints(t: Tree): Promise<void> {
  const run = await t.mkdir(ROOT_INODE, 'llama-7b-sft');
  for (let step = 1000; step <= 8000; step += 1000) {
    const d = await t.mkdir(run, `checkpoint-${step}`);
    for (let s = 1; s <= 3; s++) await t.file(d, `model-0000${s}-of-00003.safetensors`, 3_990_000_000 + s * 1_000_000);
    await t.file(d, 'config.json', 657);
    await t.file(d, 'trainer_state.json', 3_100 + step);
    await t.file(d, 'rng_state.pth', 14_575);
  }
  await t.symlink(run, 'latest', 'checkpoint-8000');
  const logs = await t.mkdir(run, 'runs');
  for (let i = 0; i < 8; i++) await t.file(logs, `events.out.tfevents.17330${i}.gpu-node-${i}`, 2_400_000 + i * 1000);
  const trash = await t.trashDir(TRASH_HOUR);
  await t.file(trash, `${run}-1-optimizer.pt`, 1_800_000_000);
}

/** A conda installation: package cache hard-linked into two environments, symlinks, caches, an old env in the trash. */
async function fillEnvs(t: Tree): Promise<void> {
  const r = rng(3);
  const conda = await t.mkdir(ROOT_INODE, 'miniconda3');
  const pkgs = await t.mkdir(conda, 'pkgs');
  const envs = await t.mkdir(conda, 'envs');
  const names = ['torch', 'jax'];
  const sitePackages: bigint[] = [];
  for (const env of names) {
    const e = await t.mkdir(envs, env);
    const bin = await t.mkdir(e, 'bin');
    await t.file(bin, 'python3.11', 30_000_000);
    await t.symlink(bin, 'python', 'python3.11');
    await t.symlink(bin, 'python3', 'python3.11');
    const lib = await t.mkdir(e, 'lib');
    const py = await t.mkdir(lib, 'python3.11');
    sitePackages.push(await t.mkdir(py, 'site-packages'));
  }
  const packages = ['numpy-1.26.4', 'pytorch-2.5.1', 'jaxlib-0.4.35', 'scipy-1.14.1', 'pandas-2.2.3', 'pillow-11.0.0', 'tokenizers-0.20.3', 'libcublas-12.6.4', 'cudnn-9.3.0', 'openssl-3.4.0'];
  for (const [i, pkg] of packages.entries()) {
    const p = await t.mkdir(pkgs, pkg);
    const lib = await t.mkdir(p, 'lib');
    const base = pkg.split('-')[0]!;
    const inEnvs = base === 'pytorch' ? [0] : base === 'jaxlib' ? [1] : [0, 1];
    const perEnv = await Promise.all(inEnvs.map((e) => t.mkdir(sitePackages[e]!, base)));
    for (let f = 0; f < 60; f++) {
      const big = f === 0 && /torch|cublas|cudnn|jaxlib/.test(pkg);
      const name = f === 0 ? `lib${base}.so` : `module_${f}.py`;
      const ino = await t.file(lib, name, big ? r(400_000_000, 900_000_000) : r(1_000, 80_000 + i * 1000), { linkable: true });
      // conda installs by hard-linking from pkgs/: one inode, counted once in the volume.
      for (const d of perEnv) await t.link(ino, d, name);
    }
  }
  const cache = await t.mkdir(ROOT_INODE, '.cache');
  const pip = await t.mkdir(cache, 'pip');
  const http = await t.mkdir(pip, 'http');
  for (let i = 0; i < 300; i++) await t.file(http, `${(i * 2654435761).toString(16).padStart(8, '0')}.body`, r(2_000, 3_000_000));
  const hf = await t.mkdir(cache, 'huggingface');
  const hub = await t.mkdir(hf, 'hub');
  const model = await t.mkdir(hub, 'models--bert-base-uncased');
  const blobs = await t.mkdir(model, 'blobs');
  const snaps = await t.mkdir(model, 'snapshots');
  const snap = await t.mkdir(snaps, '86b5e0934494bd15c9632b12f734a8a67f723594');
  for (const [name, len] of [
    ['model.safetensors', 440_449_768],
    ['tokenizer.json', 466_062],
    ['config.json', 570],
  ] as const) {
    const blob = `${(len * 40503).toString(16)}${name.length}`;
    await t.file(blobs, blob, len);
    await t.symlink(snap, name, `../../blobs/${blob}`);
  }
  const trash = await t.trashDir(TRASH_HOUR);
  for (let i = 0; i < 150; i++) await t.file(trash, `${envs}-${i}-old_env_module_${i}.py`, r(1_000, 60_000));
}

/** Opens the volume's metadata as the server does and builds its tree; returns what it wrote. */
async function fill(volume: Json, build: (t: Tree) => Promise<void>): Promise<{ usedSpace: bigint; totalInodes: bigint }> {
  const metaUrl = volume.metaUrl as string;
  if (isRedisUrl(metaUrl)) {
    const loc = parseRedisUrl(metaUrl);
    const conf = process.env.REDIS_META_URL ? parseRedisUrl(process.env.REDIS_META_URL, { requireDb: false }) : undefined;
    // Stored Redis URLs carry no password: use the server's (REDIS_META_URL), as it does.
    const redis = new Redis({ host: loc.host, port: loc.port, db: loc.db, username: conf?.username, password: conf?.password, tls: loc.tls ? {} : undefined, maxRetriesPerRequest: 2 });
    try {
      const t = new RedisFixtureBuilder(redis) as unknown as Tree;
      await build(t);
      return await t.finish();
    } finally {
      redis.disconnect();
    }
  }
  const registry = new EngineRegistry();
  try {
    const { engine, location } = registry.forUrl(metaUrl);
    // LocalEngine creates a missing file: refuse, or the tree would land in a new, private store.
    if (location.engine === 'local' && !existsSync(location.file!)) throw new Error(`${location.file} does not exist here: run the demo on the server's host (the local engine is a file)`);
    const t = new FixtureBuilder(engine, new TkvVolume(engine, location.prefix).keys) as unknown as Tree;
    await build(t);
    return await t.finish();
  } finally {
    await registry.close();
  }
}

// --- the demo -------------------------------------------------------------------------------

/** The demo's live volumes by name (paging through the tenant's volumes). */
async function demoVolumes(): Promise<Json[]> {
  const out: Json[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ tenantId: TENANT.id, limit: '200', ...(cursor ? { cursor } : {}) });
    const page = (await api('GET', `/v1/volumes?${q}`)).body;
    out.push(...(page.items as Json[]));
    cursor = page.nextCursor as string | null;
  } while (cursor);
  return out.filter((v) => VOLUMES.some((d) => d.name === v.name));
}

async function reset(): Promise<void> {
  step(`Removing the demo's volumes from ${base}`);
  const vols = (await demoVolumes()).filter((v) => v.state !== 'purged');
  if (vols.length === 0) say('nothing to remove');
  for (const v of vols) {
    if (v.state !== 'deleting') await api('DELETE', `/v1/volumes/${v.id}`);
    await api('POST', `/v1/volumes/${v.id}/purge`, { confirm: v.name });
    say(`${v.name} (${v.id}): deleted and purged`);
  }
  say(`tenant "${TENANT.id}" is kept: tenants cannot be deleted (the audit log still names it)`);
}

async function demo(): Promise<void> {
  step(`Tenant "${TENANT.id}" on ${base}`);
  const t = await api('POST', '/v1/tenants', TENANT, { allow: [409] });
  say(t.status === 201 ? 'created' : 'already there');
  look(`/v1/tenants/${TENANT.id}`);

  step('Three volumes on the default engine');
  const live = new Map((await demoVolumes()).filter((v) => !['deleting', 'purged'].includes(v.state as string)).map((v) => [v.name as string, v]));
  const volumes: Record<string, Json> = {};
  for (const d of VOLUMES) {
    const quota = d.name === CYCLED ? { ...d.quota, graceSeconds } : d.quota;
    let v = live.get(d.name);
    if (!v) {
      const r = await api('POST', `/v1/tenants/${TENANT.id}/volumes`, { name: d.name, quota }, { allow: [409] });
      if (r.status === 409) throw new Error(`${d.name}: ${r.body.detail}`);
      v = r.body;
      if (v.credentials) say(`storage keys of tenant ${TENANT.id} were created (shown once; GET /v1/volumes/{id}/mount gives them to admins and the tenant)`);
    }
    if (v.state !== 'active') throw new Error(`${d.name} is ${v.state}: ${v.stateDetail ?? ''} (npm run demo -- --reset, then again)`);
    volumes[d.name] = v;
    say(`${d.name.padEnd(12)} ${v.id}  ${v.engine}  ${v.metaUrl}`);
  }
  look(`/v1/volumes?tenantId=${TENANT.id}`);
  say(`mount one: npm run -s cli -- mount ${volumes[CYCLED]!.id}`);

  step('Filling them through the metadata layer, as JuiceFS clients would');
  for (const d of VOLUMES) {
    const v = volumes[d.name]!;
    const usage = (await api('GET', `/v1/volumes/${v.id}/usage`)).body;
    if ((usage.usedInodes as number) > 0) {
      say(`${d.name}: already holds ${usage.usedInodes} inodes, left as it is`);
      continue;
    }
    const t0 = Date.now();
    const total = await fill(v, d.fill);
    say(`${d.name}: ${total.totalInodes} inodes, ${size(Number(total.usedSpace))} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  step('Reading the counters (the counters job, as every 5 minutes)');
  const counters = await runJob('counters');
  say(`counters run ${counters.id}: ${counters.state}`);
  for (const d of VOLUMES) {
    const u = (await api('GET', `/v1/volumes/${volumes[d.name]!.id}/usage`)).body;
    say(`${d.name.padEnd(12)} ${size(u.usedBytes)} in ${u.usedInodes} inodes, ${u.state}`);
  }
  look(`/v1/volumes/${volumes.datasets!.id}/usage`);

  step('Walking every volume (largest directories)');
  for (const d of VOLUMES) {
    const v = volumes[d.name]!;
    const latest = (await api('GET', `/v1/volumes/${v.id}/directories?depth=1&limit=3`)).body;
    let walk = latest.walk as Json | null;
    if (!walk) {
      const s = await api('POST', `/v1/volumes/${v.id}/walks`);
      walk = await until(
        `the walk of ${d.name}`,
        async () => (await api('GET', s.location!)).body,
        (x) => x.state === 'succeeded' || x.state === 'failed',
      );
      if (walk.state === 'failed') throw new Error(`the walk of ${d.name} failed: ${walk.error}`);
    }
    const top = (await api('GET', `/v1/volumes/${v.id}/directories?depth=1&limit=3`)).body.items as Json[];
    say(`${d.name.padEnd(12)} walk ${walk.id}: ${top.map((x) => `${x.path} ${size(x.bytes)}`).join(', ')}`);
  }
  look(`/v1/volumes/${volumes.envs!.id}/directories?depth=2&sort=inodes`);

  await cycle(volumes[CYCLED]!);

  step('Done');
  say(tok.minted ? 'T=$(npm run -s token -- --role admin --sub you)   # for the curl commands above' : 'T=$HEADROOM_TOKEN   # for the curl commands above');
  say(`open ${base}/docs                                # Swagger UI`);
  look(`/v1/audit?tenantId=${TENANT.id}`);
  look(`/v1/notifications?volumeId=${volumes[CYCLED]!.id}`);
  say(`HEADROOM_URL=${base} HEADROOM_TOKEN=$T npm run -s cli -- volumes --tenant ${TENANT.id}`);
  say('npm run demo -- --reset                          # removes the demo volumes');
}

/** Drives the volume over soft, through grace, to frozen, and back after a granted request; resumes where it stopped. */
async function cycle(v: Json): Promise<void> {
  const id = v.id as string;
  const enforcement = async () => (await api('GET', `/v1/volumes/${id}/enforcement`)).body;
  const approved = (await api('GET', `/v1/quota-requests?volumeId=${id}&state=approved`)).body.items as Json[];
  let e = await enforcement();
  if (approved.length > 0 && e.state === 'ok') {
    step(`${v.name}: the freeze cycle already ran (request ${approved[0]!.id} approved)`);
    look(`/v1/volumes/${id}/enforcement`);
    return;
  }

  if (e.state === 'ok') {
    step(`${v.name}: over its soft limit?`);
    e = await enforcement();
    say(`state ${e.state}: ${e.explanation}`);
  }
  if (e.state === 'over_soft') {
    step(`${v.name}: over soft, the grace clock runs (${graceSeconds} s in this demo; days in real life)`);
    say(String(e.explanation));
    look(`/v1/volumes/${id}/enforcement`);
    const wait = Math.max(0, new Date(e.graceDeadline as string).getTime() - Date.now()) + 500;
    say(`waiting ${(wait / 1000).toFixed(1)} s for the grace deadline, then reading the counters again`);
    await sleep(wait);
    await runJob('counters');
    e = await enforcement();
    if (e.state !== 'frozen') {
      await runJob('enforce'); // the job that acts on expired grace from the stored reading
      e = await until('the freeze', enforcement, (x) => x.state === 'frozen', 20_000);
    }
  }
  if (e.state === 'frozen') {
    step(`${v.name}: frozen (${e.reason}): writes now fail with ENOSPC, reads and deletes work`);
    say(String(e.explanation));
    for (const s of e.whatYouCanDo as string[]) say(`- ${s}`);
    look(`/v1/volumes/${id}/enforcement`);

    step(`${v.name}: asking for more room, as an engineer of ${TENANT.id}, and approving as admin`);
    const hard = 200 * GB;
    const r = await api(
      'POST',
      `/v1/volumes/${id}/quota-requests`,
      { softBytes: 180 * GB, hardBytes: hard, reason: 'the SFT run needs room for 8 more checkpoints' },
      { token: tok.engineer, allow: [409] },
    );
    const requestId = (r.status === 409 ? r.body.pendingRequestId : r.body.id) as string;
    let req = r.status === 409 ? (await api('GET', `/v1/quota-requests/${requestId}`)).body : r.body;
    say(`request ${requestId}: ${req.state}${req.explanation ? ` (${req.explanation})` : ''}`);
    look(`/v1/quota-requests?state=pending`);
    if (req.state === 'pending') {
      req = (await api('POST', `/v1/quota-requests/${requestId}/approve`, { comment: 'approved by the demo' })).body;
      say(`approved: hard limit now ${size(hard)}`);
    }
    e = await until('the release', enforcement, (x) => x.state === 'ok', 20_000);
  }
  step(`${v.name}: ${e.state}`);
  say(String(e.explanation));
  look(`/v1/volumes/${id}/enforcement`, '"history": ok → over_soft → frozen → ok');
}

try {
  if (opts.reset) await reset();
  else await demo();
  console.log(`\nfinished in ${elapsed()}`);
} catch (err) {
  console.error(`\ndemo failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
