/**
 * The metadata engines scenario suites run on, each started for real, with a second client to a
 * volume (as a JuiceFS mount would have) to fill it, empty it, break it and read its setting.
 */
import { EtcdEngine } from '../../server/engines/etcd/etcd-engine.js';
import type { KvEngine } from '../../server/engines/kv.js';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { parseMetaUrl } from '../../server/meta/meta-url.js';
import { RedisFixtureBuilder } from '../../server/meta/redis/fixture.js';
import { parseRedisUrl } from '../../server/meta/redis/redis-url.js';
import { RedisVolume } from '../../server/meta/redis/redis-volume.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { encodeCounter } from '../../server/meta/tkv/records.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import type { TreeFixture } from '../../server/meta/tree-fixture.js';
import { etcdAvailable, startEtcd, type TestEtcd } from './etcd.js';
import { pgAvailable } from './pg.js';
import { redisServerAvailable, startRedisServer, type TestRedisServer } from './redis.js';

/** Engines a scenario suite can run on. */
export type EngineKind = 'local' | 'etcd' | 'redis';

/** Whether PostgreSQL and the engine's server are here (throws under CI when not). */
export function engineAvailable(kind: EngineKind): boolean {
  if (!pgAvailable()) return false;
  if (kind === 'etcd') return etcdAvailable();
  if (kind === 'redis') return redisServerAvailable();
  return true;
}

/** What a scenario needs of a volume, whatever engine holds it. */
export interface Handle {
  id: string;
  fx: TreeFixture<unknown>;
  /** The JuiceFS `Capacity` in the volume's setting, read from the engine. */
  capacity(): Promise<bigint>;
  /** Overwrites the usedSpace counter with garbage (a corrupt value) or a number. */
  setUsedSpace(v: bigint | 'garbage'): Promise<void>;
}

/** An engine under test: started once per suite, with a second client (as a JuiceFS mount has). */
export interface EngineUnderTest {
  env: Record<string, string>;
  handle(id: string, metaUrl: string): Handle;
  stop(): Promise<void>;
}

/** A volume on an ordered-KV engine (local, etcd): the TKV layout. */
function tkvHandle(id: string, engine: KvEngine, prefix: Buffer): Handle {
  const tv = new TkvVolume(engine, prefix);
  return {
    id,
    fx: new FixtureBuilder(engine, tv.keys) as TreeFixture<unknown>,
    capacity: async () => (await tv.readSetting()).capacity,
    setUsedSpace: (v) => engine.txn(async (x) => x.put(tv.keys.counter('usedSpace'), v === 'garbage' ? Buffer.from([1, 2, 3]) : encodeCounter(v))),
  };
}

/** Starts an engine for a suite; `env` configures the app to create its volumes there. */
export async function startEngine(kind: EngineKind): Promise<EngineUnderTest> {
  if (kind === 'local') {
    const stores = new Map<string, LocalEngine>();
    return {
      env: { META_ENGINE: 'local' },
      handle: (id, metaUrl) => {
        const loc = parseMetaUrl(metaUrl);
        let engine = stores.get(loc.file!);
        if (!engine) stores.set(loc.file!, (engine = new LocalEngine(loc.file!)));
        return tkvHandle(id, engine, loc.prefix);
      },
      stop: async () => {
        for (const e of stores.values()) await e.close();
      },
    };
  }
  if (kind === 'etcd') {
    const etcd: TestEtcd = await startEtcd();
    const engine = new EtcdEngine({ endpoints: [etcd.endpoint] });
    return {
      env: { ETCD_ENDPOINTS: etcd.endpoint, META_ENGINE: 'etcd' },
      handle: (id, metaUrl) => tkvHandle(id, engine, parseMetaUrl(metaUrl).prefix),
      stop: async () => {
        await engine.close();
        await etcd.stop();
      },
    };
  }
  const server: TestRedisServer = await startRedisServer(64);
  return {
    env: { REDIS_META_URL: server.url, REDIS_META_DBS: '1-63', META_ENGINE: 'redis' },
    handle: (id, metaUrl) => {
      const rv = new RedisVolume(server.client(parseRedisUrl(metaUrl).db));
      return {
        id,
        fx: new RedisFixtureBuilder(rv.redis) as TreeFixture<unknown>,
        capacity: async () => (await rv.readSetting()).capacity,
        setUsedSpace: async (v) => {
          await rv.redis.set(rv.keys.usedSpace(), v === 'garbage' ? 'garbage' : v.toString());
        },
      };
    },
    stop: () => server.stop(),
  };
}
