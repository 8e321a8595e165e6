/**
 * The insight service over the fake store and real walks of the demo volume (memory engine):
 * findings stored per walk and served in the tenant's language, largest reclaimable first; two
 * walks compared, naming where the growth is; stored rule settings applied to the next walk.
 */
import type { Knex } from 'knex';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../../server/auth/principal.js';
import { MemoryEngine } from '../../../server/engines/memory/memory-engine.js';
import { FakeInsightStore } from '../../../server/insights/fake-insight-store.js';
import { InsightService } from '../../../server/insights/insight-service.js';
import { walkOutcome } from '../../../server/meta/juicefs-metadata.js';
import { FixtureBuilder } from '../../../server/meta/tkv/fixture.js';
import { TkvVolume } from '../../../server/meta/tkv/tkv-volume.js';
import { walkVolume } from '../../../server/meta/tkv/walk.js';
import type { Volume } from '../../../server/volumes/volume.js';
import { GiB, NOW, buildDemoTree, daysAgo } from './demo-tree.js';

const trx = {} as Knex.Transaction; // the fake store ignores it
const principal: Principal = { sub: 'eve', role: 'engineer', tenants: ['acme'] };
const volume = { id: 'vol_1', tenantId: 'acme' } as Volume;

describe('InsightService', () => {
  let store: FakeInsightStore;
  let language: 'en' | 'zh';
  let service: InsightService;
  let engine: MemoryEngine;
  let v: TkvVolume;
  let fx: FixtureBuilder;
  const walk = async (at: Date, walkId: string) => {
    const w = await walkVolume(engine, v.keys, { now: Math.floor(at.getTime() / 1000) });
    await service.walkSucceeded(trx, volume, walkId, walkOutcome(w, await v.readCounters()), at);
  };

  beforeEach(async () => {
    store = new FakeInsightStore();
    language = 'en';
    const deps = {
      volumes: { get: async (_p: Principal, id: string) => (id === volume.id ? volume : Promise.reject(new Error('volume_not_found'))) },
      tenants: { get: async () => ({ language }) },
    };
    service = new InsightService({} as Knex, store, deps, { trashDays: 1, storedDirectories: 1000, directoryWalks: 2 });
    engine = new MemoryEngine();
    v = new TkvVolume(engine, Buffer.from('svc'));
    await v.format({ name: 'svc', storage: 'file', bucket: '/b/' });
    fx = new FixtureBuilder(engine, v.keys);
  });

  it('answers with no walk before the first one', async () => {
    expect(await service.insights(principal, 'vol_1', { history: 10 })).toMatchObject({ walk: null, findings: [], comparison: null, history: [] });
  });

  it('stores a walk with its findings and serves them largest reclaimable first, in the tenant language', async () => {
    const { totals } = await buildDemoTree(fx);
    await walk(NOW, 'wlk_a');
    const out = await service.insights(principal, 'vol_1', { history: 10 });
    expect(out.walk).toMatchObject({ walkId: 'wlk_a', bytes: totals.usedSpace - out.walk!.trashBytes, trashBytes: BigInt(450 * (1 << 20) + 3 * 4096) });
    expect(out.findings.length).toBe(10);
    expect(out.findings.slice(0, 2).map((f) => f.rule)).toEqual(['framework-cache', 'checkpoint-series']);
    const rs = out.findings.map((f) => f.reclaimableBytes);
    expect([...rs].sort((a, b) => (b > a ? 1 : b < a ? -1 : 0))).toEqual(rs);
    expect(out.walk!.summary.staleDirectories.map((d) => d.path)).toEqual(['/home/u/miniconda3', '/shared', '/jobs']);
    expect(out.walk!.summary.largestFiles[0]!.path).toBe('/home/u/.cache/huggingface/hub/model.safetensors');
    expect(out.findings.find((f) => f.rule === 'checkpoint-series' && f.details.kind === 'files')!.suggestion).toBe(
      'Keep the newest (ckpt-5000.pt, ckpt-4000.pt, ckpt-3000.pt) and delete the older ones to free 2.15 GB.',
    );
    language = 'zh';
    const zh = await service.insights(principal, 'vol_1', { history: 10 });
    expect(zh.findings.find((f) => f.rule === 'trash')!.suggestion).toContain('2026-11-30 03:00 UTC 自动清除');
    expect(zh.comparison).toBeNull();
  });

  it('compares the last two walks and names the directory that grew', async () => {
    await buildDemoTree(fx);
    await walk(daysAgo(1), 'wlk_a');
    const ckpts = (await walkVolume(engine, v.keys, { enrich: false })).directories.find((d) => d.path === '/runs/exp42/checkpoints')!.inode;
    for (const step of [6000, 7000]) await fx.file(ckpts, `ckpt-${step}.pt`, GiB);
    await fx.finish();
    await walk(NOW, 'wlk_b');
    const out = await service.insights(principal, 'vol_1', { history: 10 });
    expect(out.comparison).toMatchObject({ bytesDelta: BigInt(2 * GiB), filesDelta: 2n, growth: [{ path: '/runs/exp42/checkpoints', bytesDelta: BigInt(2 * GiB), filesDelta: 2n }] });
    expect(out.comparison!.summary).toBe('Grew 2.15 GB since the previous walk, 2.15 GB of it in /runs/exp42/checkpoints.');
    expect(out.history.map((h) => [h.walkId, h.findings])).toEqual([
      ['wlk_b', 10],
      ['wlk_a', 10],
    ]);
    const ck = out.findings.find((f) => f.rule === 'checkpoint-series' && f.details.kind === 'files')!;
    expect(ck.reclaimableBytes).toBe(BigInt(4 * GiB)); // 7 checkpoints, newest 3 kept
  });

  it('still finds what directory names show when the walk was not enriched (WALK_ENRICH=false)', async () => {
    await buildDemoTree(fx);
    const w = await walkVolume(engine, v.keys, { enrich: false });
    await service.walkSucceeded(trx, volume, 'wlk_plain', walkOutcome(w, await v.readCounters()), NOW);
    const out = await service.insights(principal, 'vol_1', { history: 1 });
    expect(new Set(out.findings.map((f) => f.rule))).toEqual(new Set(['checkpoint-series', 'python-env', 'package-cache', 'framework-cache', 'pycache', 'experiment-logs', 'trash']));
    expect(out.findings.find((f) => f.rule === 'python-env')!.reclaimableBytes).toBe(0n); // no ages without enrichment: not called stale
    expect(out.walk!.summary.largestFiles).toEqual([]);
  });

  it('applies stored rule settings to the next walk', async () => {
    await buildDemoTree(fx);
    await store.saveRuleSetting({ rule: 'python-env', enabled: false, params: { minBytes: 0, staleDays: 30 } }, 'root');
    await walk(NOW, 'wlk_a');
    const out = await service.insights(principal, 'vol_1', { history: 1 });
    expect(out.findings.map((f) => f.rule)).not.toContain('python-env');
    expect(out.findings).toHaveLength(9);
    expect(out.history).toHaveLength(1);
  });
});
