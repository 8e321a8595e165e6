/**
 * What every real-JuiceFS suite stands on: a real metadata server (etcd or Redis, started on
 * free loopback ports), a Headroom app on a fresh PostgreSQL database configured to create its
 * volumes there with JuiceFS `file` storage in a temp folder, and raw access to the metadata
 * (to compare Headroom's bytes with the real binary's). Volumes are made through the HTTP API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { request } from '../api.js';
import { buildTenant } from '../factories.js';
import { runJobOk } from '../jobs.js';
import { EtcdEngine } from '../../../server/engines/etcd/etcd-engine.js';
import { etcdAvailable, startEtcd, type TestEtcd } from '../etcd.js';
import { pgAvailable } from '../pg.js';
import { redisServerAvailable, startRedisServer, type TestRedisServer } from '../redis.js';
import { createTestApp, type TestApp } from '../test-app.js';
import { toolsAvailable, type ToolName } from './tools.js';

/** Metadata engines the real suites run on (TiKV has no real server here: see the README). */
export type RealEngine = 'etcd' | 'redis';

/**
 * Whether a real suite on `engine` can run: PostgreSQL, the engine's server and the tools.
 * Locally a missing piece skips with one line; under CI it throws (the helpers it calls do).
 */
export function realAvailable(engine: RealEngine, ...tools: ToolName[]): boolean {
  if (!pgAvailable()) return false;
  if (!once(engine, () => (engine === 'etcd' ? etcdAvailable() : redisServerAvailable()))) return false;
  return once(tools.join(','), () => toolsAvailable(...tools));
}

/** Each check runs (and prints its skip line) once per test file, however many suites ask. */
const checked = new Map<string, boolean>();
function once(key: string, check: () => boolean): boolean {
  if (!checked.has(key)) checked.set(key, check());
  return checked.get(key)!;
}

/** One directory of `GET /v1/volumes/{id}/directories` (see openapi.yaml). */
export interface DirectoryRow {
  path: string;
  pathBase64: string;
  inode: number;
  depth: number;
  bytes: number;
  logicalBytes: number;
  inodes: number;
  files: number;
  dirs: number;
  [field: string]: unknown;
}

/** One engine server, one Headroom app, and helpers. */
export interface RealStack {
  engine: RealEngine;
  app: TestApp;
  /** `Authorization` header value of an admin. */
  admin: string;
  /** The `file` storage bucket new volumes get (ends with `/`, as JuiceFS writes it). */
  bucket: string;
  /** A temp folder of the suite (removed in stop). */
  dir: string;
  /** A meta URL for a volume Headroom does not manage: a TKV prefix, or a Redis database. */
  foreignMetaUrl(slot: number): string;
  /** etcd only: an engine client for raw reads. */
  etcd?: EtcdEngine;
  /** Redis only: a client on database `db`. */
  redis?(db: number): Redis;
  /** Creates a volume of tenant `acme` through the API and returns the response body. */
  createVolume(name: string, body?: object): Promise<{ id: string; metaUrl: string; prefix: string; state: string }>;
  /** Runs a Headroom job (`counters`, `walk`, …) through the API until it ends. */
  runJob(name: string): Promise<Record<string, unknown>>;
  /** Walks the volume through the API (POST …/walks, polled until it ends); the finished walk. */
  walk(volumeId: string): Promise<{ state: string; result: Record<string, unknown>; error: unknown }>;
  /** The latest walk's directories (`depth` levels, up to `limit`), as the API presents them. */
  directories(volumeId: string, depth?: number, limit?: number): Promise<DirectoryRow[]>;
  stop(): Promise<void>;
}

/** Redis databases the app may hand out; foreign volumes use databases above them. */
const APP_DBS = '1-15';
const FOREIGN_DB_BASE = 20;

/** Starts the engine server and an app on it; `env` adds app configuration. */
export async function startStack(engine: RealEngine, env: Record<string, string> = {}): Promise<RealStack> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `headroom-real-${engine}-`));
  const objects = path.join(dir, 'objects');
  let etcd: TestEtcd | undefined;
  let etcdEngine: EtcdEngine | undefined;
  let redis: TestRedisServer | undefined;
  let app: TestApp | undefined;
  const teardown = async () => {
    await app?.close().catch(() => {});
    await etcdEngine?.close().catch(() => {});
    await etcd?.stop();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  let admin: string;
  try {
    let engineEnv: Record<string, string>;
    if (engine === 'etcd') {
      etcd = await startEtcd();
      etcdEngine = new EtcdEngine({ endpoints: [etcd.endpoint] });
      engineEnv = { ETCD_ENDPOINTS: etcd.endpoint, META_ENGINE: 'etcd' };
    } else {
      redis = await startRedisServer(32);
      engineEnv = { REDIS_META_URL: redis.url, REDIS_META_DBS: APP_DBS, META_ENGINE: 'redis' };
    }
    app = await createTestApp({ ...engineEnv, OBJECTS_DIR: objects, JUICEFS_TRASH_DAYS: '1', ...env });
    admin = `Bearer ${app.token('admin', 'root')}`;
    await buildTenant(app.http, admin, { id: 'acme', displayName: 'Acme', email: 'a@example.com' });
  } catch (err) {
    // Nothing the half-built stack started may outlive it (the suite never gets a stop()).
    await teardown();
    throw err;
  }
  const theApp = app!;
  return {
    engine,
    app: theApp,
    admin,
    bucket: path.join(objects, path.sep),
    dir,
    etcd: etcdEngine,
    redis: redis ? (db: number) => redis!.client(db) : undefined,
    foreignMetaUrl: (slot) => (etcd ? `etcd://${etcd.endpoint}/foreign-${slot}` : `redis://127.0.0.1:${redis!.port}/${FOREIGN_DB_BASE + slot}`),
    createVolume: async (name, body = {}) => {
      const res = await request(theApp.http)
        .post('/v1/tenants/acme/volumes')
        .set('authorization', admin)
        .send({ name, ...body });
      if (res.status !== 201) throw new Error(`create volume ${name}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as { id: string; metaUrl: string; prefix: string; state: string };
    },
    runJob: (name) => runJobOk(theApp.http, name, admin),
    walk: async (volumeId) => {
      const started = await request(theApp.http).post(`/v1/volumes/${volumeId}/walks`).set('authorization', admin);
      if (started.status !== 202) throw new Error(`walk: ${started.status} ${JSON.stringify(started.body)}`);
      let s = started.body as { state: string; result: Record<string, unknown>; error: unknown };
      for (let i = 0; i < 600 && !['succeeded', 'failed'].includes(s.state); i++) {
        await new Promise((r) => setTimeout(r, 50));
        s = (await request(theApp.http).get(String(started.headers.location)).set('authorization', admin)).body;
      }
      return s;
    },
    directories: async (volumeId, depth = 10, limit = 500) => {
      const res = await request(theApp.http).get(`/v1/volumes/${volumeId}/directories?depth=${depth}&limit=${limit}`).set('authorization', admin);
      if (res.status !== 200) throw new Error(`directories: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.items as DirectoryRow[];
    },
    stop: teardown,
  };
}

/** Every key/value of a TKV prefix (etcd: `/name` + 0xFD) keyed by the bytes after it, in hex. */
export async function tkvDump(etcd: EtcdEngine, metaUrl: string): Promise<Map<string, Buffer>> {
  const prefix = Buffer.concat([Buffer.from(new URL(metaUrl.replace(/^etcd:/, 'http:')).pathname, 'utf8'), Buffer.from([0xfd])]);
  const end = Buffer.from(prefix);
  end[end.length - 1] = 0xfe;
  const out = new Map<string, Buffer>();
  for await (const { key, value } of etcd.scan(prefix, end, {})) out.set(Buffer.from(key).subarray(prefix.length).toString('latin1'), Buffer.from(value));
  return out;
}

/** Every string key of a Redis database with its value (hashes and others as their TYPE). */
export async function redisDump(client: Redis): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const k of await client.keysBuffer('*')) {
    const type = await client.type(k);
    out.set(k.toString('latin1'), type === 'string' ? ((await client.getBuffer(k)) ?? Buffer.alloc(0)) : Buffer.from(`<${type}>`));
  }
  return out;
}
