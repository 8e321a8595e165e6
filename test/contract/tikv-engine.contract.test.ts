/**
 * The TiKV engine against the in-process fake PD + TiKV: the same ordered-KV and JuiceFS layout
 * suites as every other engine (on a cluster split into many regions), then the protocol's
 * failure cases: region errors, leader moves, stale PD, locks left by crashed writers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvConflictError, type KvPair } from '../../server/engines/kv.js';
import { TikvEngine } from '../../server/engines/tikv/tikv-engine.js';
import { startFakeTikv, type FakeTikv } from '../support/tikv-fake/index.js';
import { kvEngineContract } from './kv-engine.contract.js';
import { tkvVolumeContract } from './tkv-volume.contract.js';

// Region boundaries inside the key spaces the suites use (random `t…` prefixes, volume prefixes `v…`).
const splitKeys = ['t4', 't8', 'tc', 'v4', 'v8', 'vc', '\xff\xff'].map((s) => Buffer.from(s, 'latin1'));

let fake: FakeTikv;
beforeAll(async () => {
  fake = await startFakeTikv({ stores: 3, splitKeys });
});
afterAll(async () => {
  await fake?.close();
});

kvEngineContract('tikv (fake PD + 3 stores, 8 regions)', async () => new TikvEngine({ pdEndpoints: [fake.pdEndpoint] }));
tkvVolumeContract(
  'tikv (fake PD + 3 stores, 8 regions)',
  async () => new TikvEngine({ pdEndpoints: [fake.pdEndpoint] }),
  (n) => Buffer.from(n),
);

const b = (s: string) => Buffer.from(s);
async function collect(it: AsyncIterable<KvPair>): Promise<string[]> {
  const out: string[] = [];
  for await (const p of it) out.push(Buffer.from(p.key).toString());
  return out;
}

describe('TiKV client against injected faults', () => {
  let engine: TikvEngine;
  beforeAll(() => {
    engine = new TikvEngine({ pdEndpoints: [fake.pdEndpoint], opTimeoutMs: 5000 });
  });
  afterAll(() => engine?.close());

  const put = (pairs: Array<[string, string]>) => engine.txn(async (t) => pairs.forEach(([k, v]) => t.put(b(k), b(v))));

  it('scans and batch-gets across many regions in key order', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `w${((i * 7919) % 1000).toString().padStart(4, '0')}`);
    for (const at of ['w2', 'w4', 'w6', 'w8']) fake.split(b(at));
    for (let i = 0; i < keys.length; i += 50) await put(keys.slice(i, i + 50).map((k) => [k, `v-${k}`]));
    const sorted = [...new Set(keys)].sort();
    expect(await collect(engine.scan(b('w'), b('x'), { pageSize: 7 }))).toEqual(sorted);
    const got = await engine.batchGet(sorted.map(b));
    expect(got.size).toBe(sorted.length);
    expect(fake.regions().filter((r) => r.start.toString().startsWith('w')).length).toBeGreaterThanOrEqual(4);
  });

  it('recovers from not_leader, epoch_not_match, server_is_busy, stale_command and an unavailable store', async () => {
    await put([['f1', 'x']]);
    for (const kind of ['not_leader', 'epoch_not_match', 'server_is_busy', 'stale_command', 'region_not_found', 'unavailable'] as const) {
      fake.injectFault({ kind, method: 'KvGet', count: 1 });
      expect(Buffer.from((await engine.get(b('f1')))!).toString()).toBe('x');
    }
  });

  it('follows a leader transfer and a split that PD does not know about yet', async () => {
    await put([
      ['g1', '1'],
      ['g5', '5'],
    ]);
    const region = fake.regions().find((r) => r.start.toString() <= 'g1' && (r.end.length === 0 || r.end.toString() > 'g5'))!;
    const other = fake.stores.find((s) => s.id !== region.leaderStoreId)!;
    fake.transferLeader(region.id, other.id);
    expect(Buffer.from((await engine.get(b('g5')))!).toString()).toBe('5');
    fake.setPdStale(true);
    fake.split(b('g3'));
    try {
      const got = await engine.batchGet([b('g1'), b('g5')]);
      expect(got.size).toBe(2);
      expect(await collect(engine.scan(b('g'), b('h')))).toEqual(['g1', 'g5']);
    } finally {
      fake.setPdStale(false);
    }
  });

  it('two concurrent transactions on one key: exactly one commits', async () => {
    await put([['c1', '0']]);
    const results = await Promise.allSettled(
      [1, 2].map((n) =>
        engine.txn(async (t) => {
          await t.get(b('c1'));
          await new Promise((r) => setTimeout(r, 30));
          t.put(b('c1'), b(`by-${n}`));
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(KvConflictError);
  });

  it('a reader meeting a crashed writer’s lock waits for its TTL, then rolls it back', async () => {
    await put([['l1', 'committed']]);
    const startTs = fake.nowTs();
    fake.seedLock(b('l1'), { primary: b('l1'), startTs, ttl: 3000n, type: 'put', value: b('never') });
    const read = engine.get(b('l1'));
    await new Promise((r) => setTimeout(r, 50));
    fake.advanceClock(5000);
    expect(Buffer.from((await read)!).toString()).toBe('committed');
    expect(fake.inspect(b('l1')).lock).toBeUndefined();
    expect(fake.inspect(b('l1')).writes[0]).toMatchObject({ type: 'rollback', startTs });
  });

  it('a reader commits the secondary lock of a writer that crashed after committing its primary', async () => {
    const startTs = fake.nowTs();
    const commitTs = fake.nowTs();
    fake.seedWrite(b('p1'), { startTs, commitTs, type: 'put', value: b('P') });
    fake.seedLock(b('s1'), { primary: b('p1'), startTs, ttl: 3000n, type: 'put', value: b('S') });
    expect(Buffer.from((await engine.get(b('s1')))!).toString()).toBe('S');
    expect(fake.inspect(b('s1')).writes[0]).toMatchObject({ type: 'put', commitTs });
  });

  it('settles an expired async-commit transaction left by a JuiceFS client', async () => {
    const startTs = fake.nowTs();
    const secondaries = [b('a2'), b('a3')];
    const minCommitTs = startTs + 10n;
    fake.seedLock(b('a1'), { primary: b('a1'), startTs, ttl: 1000n, type: 'put', value: b('1'), useAsyncCommit: true, secondaries, minCommitTs });
    fake.seedLock(b('a2'), { primary: b('a1'), startTs, ttl: 1000n, type: 'put', value: b('2'), useAsyncCommit: true, minCommitTs: minCommitTs + 1n });
    fake.seedLock(b('a3'), { primary: b('a1'), startTs, ttl: 1000n, type: 'put', value: b('3'), useAsyncCommit: true, minCommitTs });
    fake.advanceClock(2000);
    expect(Buffer.from((await engine.get(b('a2')))!).toString()).toBe('2');
    for (const k of ['a1', 'a2', 'a3']) {
      const s = fake.inspect(b(k));
      expect(s.lock).toBeUndefined();
      expect(s.writes[0]).toMatchObject({ type: 'put', commitTs: minCommitTs + 1n });
    }
  });

  it('reports a primary commit whose reply was lost as undetermined only if retries fail; a retry that lands is success', async () => {
    fake.injectFault({ kind: 'drop_reply', method: 'KvCommit', count: 1 });
    await put([['d1', 'v']]);
    expect(Buffer.from((await engine.get(b('d1')))!).toString()).toBe('v');
  });

  it('fails with a typed error naming the region when a region never recovers', async () => {
    const short = new TikvEngine({ pdEndpoints: [fake.pdEndpoint], opTimeoutMs: 300 });
    try {
      fake.injectFault({ kind: 'server_is_busy', method: 'KvGet', count: 1000 });
      const err = await short.get(b('zz')).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'TikvError' });
      expect(String(err)).toMatch(/region \d+/);
    } finally {
      fake.clearFaults();
      await short.close();
    }
  });
});
