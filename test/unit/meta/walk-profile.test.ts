/**
 * Walk enrichment on the TKV walk (memory engine): age and size buckets, types, series and the
 * largest files, with hard-linked files counted as `du` counts them; enrichment changes none of
 * the plain walk's figures. The Redis walk is held to the same figures in redis-layout.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../../server/engines/memory/memory-engine.js';
import { FixtureBuilder } from '../../../server/meta/tkv/fixture.js';
import { TkvVolume } from '../../../server/meta/tkv/tkv-volume.js';
import { walkVolume, type WalkResult } from '../../../server/meta/tkv/walk.js';
import { fileTypeOf, seriesOf } from '../../../server/meta/walk-file-names.js';
import { GiB, MiB, NOW, buildDemoTree } from '../insights/demo-tree.js';

const now = Math.floor(NOW.getTime() / 1000);
let engine: MemoryEngine;
let v: TkvVolume;
let w: WalkResult;
const dir = (path: string) => w.directories.find((d) => d.path === path)!;

beforeAll(async () => {
  engine = new MemoryEngine();
  v = new TkvVolume(engine, Buffer.from('prof'));
  await v.format({ name: 'prof', storage: 'file', bucket: '/b/' });
  await buildDemoTree(new FixtureBuilder(engine, v.keys));
  w = await walkVolume(engine, v.keys, { concurrency: 4, pageSize: 13, now, topFiles: 3 });
});

describe('walk enrichment', () => {
  it('buckets the volume by age and size (trash apart, a hard-linked file once)', () => {
    const root = dir('/').profile!;
    expect(root.ageBytes).toEqual([2 * GiB + 1000 * MiB + 2 * GiB + 150 * MiB + 20 * MiB + 10 * MiB + 120 * MiB + 4096, 3 * GiB, 150 * MiB, 4096 + 800 * MiB + 400 * MiB, 50 * MiB]);
    expect(root.ageFiles).toEqual([13, 3, 1, 4, 1]);
    expect(root.sizeFiles).toEqual([2, 3, 11, 6, 0]);
    expect(root.sizeBytes[3]).toBe(7 * GiB);
    expect(dir('/.trash').profile!.ageFiles.reduce((a, b) => a + b)).toBe(3);
  });

  it('counts a hard-linked file in every directory holding a link, once in their parent', () => {
    for (const p of ['/shared', '/shared/a', '/shared/b']) {
      expect(dir(p).profile).toMatchObject({ ageBytes: [0, 0, 0, 400 * MiB, 0], ageFiles: [0, 0, 0, 1, 0], types: [{ type: 'bin', bytes: 400 * MiB, files: 1 }] });
    }
    expect(dir('/').profile!.types.find((t) => t.type === 'bin')).toEqual({ type: 'bin', bytes: 400 * MiB, files: 1 });
  });

  it('names file types, keeps numbered series with their newest members, and the largest files', () => {
    const ck = dir('/runs/exp42/checkpoints').profile!;
    expect(ck.directTypes).toEqual([{ type: 'pt', bytes: 5 * GiB, files: 5 }]);
    expect(ck.series).toEqual([{ pattern: 'ckpt-#.pt', files: 5, bytes: 5 * GiB, newest: expect.any(Array) }]);
    expect(ck.series[0]!.newest.map((m) => m.name)).toEqual(['ckpt-5000.pt', 'ckpt-4000.pt', 'ckpt-3000.pt', 'ckpt-2000.pt', 'ckpt-1000.pt']);
    expect(dir('/runs/exp42/tb').profile!.directTypes[0]!.type).toBe('tfevents');
    expect(dir('/jobs').profile!.directTypes[0]!.type).toBe('core');
    expect(dir('/jobs').profile!.newestMtime).toBe(now - 400 * 86_400);
    expect(w.profile!.largestFiles[0]).toMatchObject({ path: '/home/u/.cache/huggingface/hub/model.safetensors', bytes: BigInt(2 * GiB), mtime: now - 5 * 86_400 });
    expect(w.profile!.largestFiles).toHaveLength(3);
    expect(w.profile!.largestFiles.slice(1).every((f) => f.bytes === BigInt(GiB) && f.path.startsWith('/runs/exp42/checkpoints/ckpt-'))).toBe(true);
  });

  it('changes none of the plain walk figures', async () => {
    const plain = await walkVolume(engine, v.keys, { enrich: false });
    expect(plain.profile).toBeUndefined();
    const strip = (r: WalkResult) => r.directories.map(({ profile: _p, ...d }) => d);
    expect(strip(w)).toEqual(strip(plain));
    expect([w.tree, w.trash, w.detached]).toEqual([plain.tree, plain.trash, plain.detached]);
  });

  it('classifies names', () => {
    expect(['a.PT', 'x.tar.gz', 'events.out.tfevents.1.h', 'core', 'core.77', 'README', '.bashrc', 'a.b.safetensors'].map(fileTypeOf)).toEqual([
      'pt',
      'tar.gz',
      'tfevents',
      'core',
      'core',
      '',
      '',
      'safetensors',
    ]);
    expect(seriesOf('epoch=3-step=1200.ckpt')).toEqual({ pattern: 'epoch=#-step=#.ckpt', key: [3, 1200] });
    expect(seriesOf('model.pt')).toBeUndefined();
  });
});
