/**
 * bench:tikv — the TiKV client's overhead over the bare transport, against the in-process fake.
 *
 *   npm run bench:tikv
 *
 * Loads 200,000 keys into a fake cluster of 16 regions on 3 stores, then in the same run:
 *   - batch-get 100,000 keys through the client vs the same KvBatchGet requests (same payloads,
 *     same concurrency) sent with a bare @grpc/grpc-js unary call;
 *   - scan 200,000 keys through the client vs the same KvScan requests sent one after another.
 * Prints both times and the ratio (target: client ≤ 1.5× the bare loop).
 */
import * as grpc from '@grpc/grpc-js';
import { TikvService, channelOptions } from '../../server/engines/tikv/protocol.js';
import { call } from '../../server/engines/tikv/pd-client.js';
import { TikvEngine } from '../../server/engines/tikv/tikv-engine.js';
import { startFakeTikv } from '../../test/support/tikv-fake/index.js';

const N = 200_000;
const key = (i: number) => Buffer.from(`bench/${i.toString().padStart(7, '0')}`);

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await fn();
  return [performance.now() - t0, r];
}

async function main(): Promise<void> {
  const splitKeys = Array.from({ length: 15 }, (_, i) => key(Math.round(((i + 1) * N) / 16)));
  const fake = await startFakeTikv({ stores: 3, splitKeys });
  const engine = new TikvEngine({ pdEndpoints: [fake.pdEndpoint] });
  const value = Buffer.alloc(64, 7);
  try {
    const tl = performance.now();
    for (let i = 0; i < N; i += 2000) {
      await engine.txn(async (t) => {
        for (let j = i; j < Math.min(N, i + 2000); j++) t.put(key(j), value);
      });
    }
    console.log(`loaded ${N} keys in 16 regions in ${((performance.now() - tl) / 1000).toFixed(1)} s`);
    const conns = new Map<string, grpc.Client>();
    const conn = (addr: string) => {
      let c = conns.get(addr);
      if (!c) conns.set(addr, (c = new TikvService(addr, grpc.credentials.createInsecure(), channelOptions)));
      return c;
    };
    const router = engine.client.router;
    const addrOf = new Map(fake.stores.map((s) => [s.id, s.address]));

    // --- batch get: 100,000 keys spread over all regions
    const keys = Array.from({ length: 100_000 }, (_, i) => key(i * 2));
    const ts = await engine.client.tso();
    await engine.client.batchGet(keys, ts); // warm caches, channels and the JIT on the full path
    const before = fake.calls('KvBatchGet');
    const [clientMs, got] = await time(() => engine.client.batchGet(keys, ts));
    const requests = fake.calls('KvBatchGet') - before;
    // The same requests, built up front, sent bare with the same concurrency.
    const groups = new Map<bigint, { region: Awaited<ReturnType<typeof router.locate>>; keys: Buffer[] }>();
    for (const k of keys) {
      const r = await router.locate(k);
      const g = groups.get(r.id) ?? { region: r, keys: [] };
      g.keys.push(k);
      groups.set(r.id, g);
    }
    const bareReqs: Array<{ addr: string; req: object }> = [];
    for (const g of groups.values()) {
      for (let i = 0; i < g.keys.length; i += 5000) {
        bareReqs.push({ addr: addrOf.get(g.region.leader.storeId)!, req: { context: router.context(g.region, { resolved_locks: [] }), keys: g.keys.slice(i, i + 5000), version: ts.toString() } });
      }
    }
    await Promise.all(bareReqs.map((r) => call(conn(r.addr), 'KvBatchGet', r.req, 60_000))); // warm the bare path too
    const [bareMs] = await time(() => Promise.all(bareReqs.map((r) => call(conn(r.addr), 'KvBatchGet', r.req, 60_000))));
    console.log(
      `batch get ${keys.length} keys (${got.size} found): client ${clientMs.toFixed(0)} ms in ${requests} requests, bare loop ${bareMs.toFixed(0)} ms in ${bareReqs.length} requests, ratio ${(clientMs / bareMs).toFixed(2)} (target <= 1.5)`,
    );
    // The same keys in a random (seeded) order: the client groups them by region one by one.
    let seed = 42;
    const rnd = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const shuffled = [...keys];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const [shuffledMs] = await time(() => engine.client.batchGet(shuffled, ts));
    console.log(`batch get, same keys in random order: client ${shuffledMs.toFixed(0)} ms, ratio ${(shuffledMs / bareMs).toFixed(2)} (target <= 1.5)`);

    // --- scan: 200,000 keys
    const start = key(0);
    const end = Buffer.from('bench0');
    const pageSize = 10_240;
    for await (const _ of engine.client.scan(start, end, ts, { pageSize })) void _; // warm
    let n = 0;
    const scanBefore = fake.calls('KvScan');
    const [scanMs] = await time(async () => {
      for await (const _ of engine.client.scan(start, end, ts, { pageSize })) n++;
    });
    const scanRequests = fake.calls('KvScan') - scanBefore;
    // Bare: the same sequence of requests (start keys and bounds as the client pages them).
    const seq: Array<{ addr: string; req: object }> = [];
    let cursor: Buffer = start;
    for (;;) {
      const r = await router.locate(cursor);
      const stop = r.end.length > 0 && Buffer.compare(r.end, end) < 0 ? r.end : end;
      const req = { context: router.context(r, { resolved_locks: [], not_fill_cache: true, priority: 1 }), start_key: cursor, end_key: stop, limit: pageSize, version: ts.toString(), key_only: false };
      const res = await call(conn(addrOf.get(r.leader.storeId)!), 'KvScan', req, 60_000);
      seq.push({ addr: addrOf.get(r.leader.storeId)!, req });
      const pairs = res.pairs ?? [];
      if (pairs.length === pageSize) cursor = Buffer.concat([Buffer.from(pairs[pairs.length - 1].key), Buffer.from([0])]);
      else if (r.end.length === 0 || Buffer.compare(r.end, end) >= 0) break;
      else cursor = r.end;
    }
    for (const s of seq) await call(conn(s.addr), 'KvScan', s.req, 60_000); // warm
    const [bareScanMs] = await time(async () => {
      for (const s of seq) await call(conn(s.addr), 'KvScan', s.req, 60_000);
    });
    console.log(
      `scan ${n} keys: client ${scanMs.toFixed(0)} ms in ${scanRequests} requests, bare loop ${bareScanMs.toFixed(0)} ms in ${seq.length} requests, ratio ${(scanMs / bareScanMs).toFixed(2)} (target <= 1.5)`,
    );
    for (const c of conns.values()) c.close();
  } finally {
    await engine.close();
    await fake.close();
  }
}

await main();
