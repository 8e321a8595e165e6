/**
 * The fake must refuse what real TiKV refuses, or the client could pass by accident. Raw gRPC
 * calls, no client library involved.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../server/engines/tikv/pd-client.js';
import { TikvService } from '../../server/engines/tikv/protocol.js';
import { startFakeTikv, type FakeTikv } from '../support/tikv-fake/index.js';

describe('fake TiKV rejects invalid requests', () => {
  let fake: FakeTikv;
  let ctx: object;
  let kv: grpc.Client;
  beforeAll(async () => {
    fake = await startFakeTikv({ stores: 2, splitKeys: [Buffer.from('m')] });
    const r = fake.regions()[0]!;
    const leader = r.peers.find((p) => p.storeId === r.leaderStoreId)!;
    ctx = {
      region_id: r.id.toString(),
      region_epoch: { conf_ver: '1', version: r.version.toString() },
      peer: { id: leader.id.toString(), store_id: leader.storeId.toString() },
      cluster_id: fake.clusterId.toString(),
    };
    kv = new TikvService(fake.stores.find((s) => s.id === r.leaderStoreId)!.address, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    kv?.close();
    await fake?.close();
  });

  it('commit without prewrite is TxnLockNotFound', async () => {
    const res = await call(kv, 'KvCommit', { context: ctx, start_version: fake.nowTs().toString(), keys: [Buffer.from('a')], commit_version: fake.nowTs().toString() }, 2000);
    expect(res.error.txn_lock_not_found).toBeDefined();
    expect(res.error.retryable).toMatch(/TxnLockNotFound/);
  });

  it('commit_ts <= start_ts is aborted; a prewrite older than a commit is a write conflict', async () => {
    const start = fake.nowTs();
    const pre = await call(
      kv,
      'KvPrewrite',
      { context: ctx, mutations: [{ op: 0, key: Buffer.from('b'), value: Buffer.from('1') }], primary_lock: Buffer.from('b'), start_version: start.toString(), lock_ttl: '3000' },
      2000,
    );
    expect(pre.errors ?? []).toEqual([]);
    const bad = await call(kv, 'KvCommit', { context: ctx, start_version: start.toString(), keys: [Buffer.from('b')], commit_version: start.toString() }, 2000);
    expect(bad.error.abort).toMatch(/commit ts/);
    const ok = await call(kv, 'KvCommit', { context: ctx, start_version: start.toString(), keys: [Buffer.from('b')], commit_version: fake.nowTs().toString() }, 2000);
    expect(ok.error).toBeUndefined();
    const stale = await call(
      kv,
      'KvPrewrite',
      { context: ctx, mutations: [{ op: 0, key: Buffer.from('b'), value: Buffer.from('2') }], primary_lock: Buffer.from('b'), start_version: start.toString(), lock_ttl: '3000' },
      2000,
    );
    expect(stale.errors[0].conflict).toBeDefined();
  });

  it('checks store, leader, epoch and key range in that order (tikv-protocol.md §7.3), and the cluster id', async () => {
    const r = fake.regions()[0]!;
    const follower = r.peers.find((p) => p.storeId !== r.leaderStoreId)!;
    expect(follower).toBeDefined();
    const badEpoch = { conf_ver: '1', version: '99' };
    // A request naming another store than the one it reached: store_not_match first, whatever else is wrong.
    const wrongStore = await call(
      kv,
      'KvGet',
      { context: { ...ctx, region_epoch: badEpoch, peer: { id: follower.id.toString(), store_id: follower.storeId.toString() } }, key: Buffer.from('z'), version: fake.nowTs().toString() },
      2000,
    );
    expect(Object.keys(wrongStore.region_error)).toContain('store_not_match');
    // The follower's store: not_leader (with the leader as a hint) before the bad epoch.
    const fkv = new TikvService(fake.stores.find((x) => x.id === follower.storeId)!.address, grpc.credentials.createInsecure());
    try {
      const notLeader = await call(
        fkv,
        'KvGet',
        { context: { ...ctx, region_epoch: badEpoch, peer: { id: follower.id.toString(), store_id: follower.storeId.toString() } }, key: Buffer.from('z'), version: fake.nowTs().toString() },
        2000,
      );
      expect(notLeader.region_error.not_leader.leader.store_id).toBe(r.leaderStoreId.toString());
    } finally {
      fkv.close();
    }
    // The leader: a bad epoch is reported before a key outside the region.
    const wrongEpoch = await call(kv, 'KvGet', { context: { ...ctx, region_epoch: badEpoch }, key: Buffer.from('z'), version: fake.nowTs().toString() }, 2000);
    expect(wrongEpoch.region_error.epoch_not_match.current_regions.length).toBeGreaterThan(0);
    expect(wrongEpoch.region_error.key_not_in_region).toBeUndefined();
    const outside = await call(kv, 'KvGet', { context: ctx, key: Buffer.from('z'), version: fake.nowTs().toString() }, 2000);
    expect(outside.region_error.key_not_in_region).toBeDefined();
    await expect(call(kv, 'KvGet', { context: { ...ctx, cluster_id: '5' }, key: Buffer.from('a'), version: '1' }, 2000)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});
