/** The router's batch reads: each layout gets its share, results come back whole, a failed share fails alone. */
import { describe, expect, it } from 'vitest';
import { MetadataRouter } from '../../../server/meta/metadata-router.js';
import type { CounterUsage, VolumeMetadata, VolumeRef } from '../../../server/meta/volume-metadata.js';

const ref = (id: string, metaUrl: string): VolumeRef => ({ id, metaUrl, prefix: id, quota: { hardBytes: null, hardInodes: null } });

/** A layout that answers every volume with its own name's usage, or fails the whole batch. */
function layout(bytes: bigint, fail = false): { m: VolumeMetadata; asked: string[][]; last?: Map<string, CounterUsage | Error> } {
  const state: { m: VolumeMetadata; asked: string[][]; last?: Map<string, CounterUsage | Error> } = { asked: [], m: {} as VolumeMetadata };
  state.m = {
    readUsageMany: async (vs: readonly VolumeRef[]) => {
      state.asked.push(vs.map((v) => v.id));
      if (fail) throw new Error('layout down');
      state.last = new Map(vs.map((v) => [v.id, { usedBytes: bytes, usedInodes: 1n }]));
      return state.last;
    },
  } as unknown as VolumeMetadata;
  return state;
}

describe('MetadataRouter.readUsageMany', () => {
  it('sends each layout its share only and merges both answers', async () => {
    const tkv = layout(1n);
    const redis = layout(2n);
    const router = new MetadataRouter(tkv.m, redis.m);
    const got = await router.readUsageMany([ref('a', 'etcd://h:2379/a'), ref('r', 'redis://h:6379/3'), ref('b', 'local:///m.db?prefix=b')]);
    expect(tkv.asked).toEqual([['a', 'b']]);
    expect(redis.asked).toEqual([['r']]);
    expect([...got.keys()].sort()).toEqual(['a', 'b', 'r']);
    expect(got.get('r')).toEqual({ usedBytes: 2n, usedInodes: 1n });
    expect(got.get('b')).toEqual({ usedBytes: 1n, usedInodes: 1n });
  });

  it('asks no layout that has no volumes in the batch, and hands its answer back as it is', async () => {
    const tkv = layout(1n);
    const redis = layout(2n);
    const got = await new MetadataRouter(tkv.m, redis.m).readUsageMany([ref('a', 'etcd://h:2379/a')]);
    expect(redis.asked).toEqual([]);
    expect(got).toBe(tkv.last);
    expect((await new MetadataRouter(tkv.m, redis.m).readUsageMany([])).size).toBe(0);
  });

  it('marks every volume of a failed layout failed, and only those', async () => {
    const router = new MetadataRouter(layout(1n).m, layout(2n, true).m);
    const got = await router.readUsageMany([ref('a', 'etcd://h:2379/a'), ref('r', 'rediss://h:6379/3'), ref('s', 'redis://h:6379/4')]);
    expect(got.get('a')).toEqual({ usedBytes: 1n, usedInodes: 1n });
    expect(got.get('r')).toBeInstanceOf(Error);
    expect((got.get('s') as Error).message).toBe('layout down');
  });
});
