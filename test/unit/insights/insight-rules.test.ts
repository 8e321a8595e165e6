/**
 * The findings rules, one test each, on a real walk of the demo volume (memory engine, the TKV
 * walk with enrichment), plus what the admin settings change. Expected figures come from the
 * tree's construction (`demo-tree.ts`), not from the walk.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../../server/engines/memory/memory-engine.js';
import { FixtureBuilder } from '../../../server/meta/tkv/fixture.js';
import { TkvVolume } from '../../../server/meta/tkv/tkv-volume.js';
import { walkVolume } from '../../../server/meta/tkv/walk.js';
import { defaultSettings, runRules, type Finding, type RuleId, type RuleSetting } from '../../../server/insights/insight-rules.js';
import { WalkTree } from '../../../server/insights/walk-tree.js';
import { NOW, buildDemoTree } from './demo-tree.js';

let tree: WalkTree;
let expected: Awaited<ReturnType<typeof buildDemoTree>>['expected'];
const now = Math.floor(NOW.getTime() / 1000);
const run = (settings?: RuleSetting[]) => runRules({ tree, now, trashDays: 1 }, settings);
const of = (rule: RuleId, fs: Finding[] = run()) => fs.filter((f) => f.rule === rule);
const n = (x: number) => BigInt(x);

beforeAll(async () => {
  const engine = new MemoryEngine();
  const v = new TkvVolume(engine, Buffer.from('demo'));
  await v.format({ name: 'demo', storage: 'file', bucket: '/b/' });
  const built = await buildDemoTree(new FixtureBuilder(engine, v.keys));
  expected = built.expected;
  const w = await walkVolume(engine, v.keys, { concurrency: 3, pageSize: 50, now });
  tree = new WalkTree(w.directories);
});

describe('findings rules', () => {
  it('checkpoint-series: numbered checkpoint files keep the newest three, numbered folders too', () => {
    const [dirs, files] = of('checkpoint-series').sort((a, b) => String(a.details.kind).localeCompare(String(b.details.kind)));
    expect(files).toMatchObject({ paths: ['/runs/exp42/checkpoints/ckpt-#.pt'], bytes: n(expected.checkpointFiles.bytes), files: 5n, reclaimableBytes: n(expected.checkpointFiles.reclaimable) });
    expect(files!.details.kept).toEqual(expected.checkpointFiles.kept);
    expect(dirs).toMatchObject({ bytes: n(expected.checkpointDirs.bytes), files: 5n, reclaimableBytes: n(expected.checkpointDirs.reclaimable), paths: expected.checkpointDirs.old });
  });

  it('python-env: a conda installation untouched for 200 days is reclaimable as a whole', () => {
    expect(of('python-env')).toEqual([
      { rule: 'python-env', paths: ['/home/u/miniconda3'], bytes: n(expected.condaEnv), files: 3n, reclaimableBytes: n(expected.condaEnv), details: expect.objectContaining({ kind: 'conda' }) },
    ]);
  });

  it('package-cache: conda pkgs and the pip cache, together', () => {
    const [f] = of('package-cache');
    expect(f).toMatchObject({ bytes: n(expected.packageCaches), reclaimableBytes: n(expected.packageCaches) });
    expect([...f!.paths].sort()).toEqual(['/home/u/.cache/pip', '/home/u/miniconda3/pkgs']);
  });

  it('framework-cache: the Hugging Face cache', () => {
    expect(of('framework-cache')).toMatchObject([{ paths: ['/home/u/.cache/huggingface'], bytes: n(expected.hfCache), reclaimableBytes: n(expected.hfCache) }]);
  });

  it('pycache: __pycache__ folders (reported from 10 MiB)', () => {
    expect(of('pycache')).toMatchObject([{ paths: ['/src/pkg/__pycache__'], bytes: n(expected.pycache), reclaimableBytes: n(expected.pycache), files: 1n }]);
  });

  it('experiment-logs: wandb reclaims only its stale run; fresh TensorBoard events reclaim nothing', () => {
    const by = new Map(of('experiment-logs').map((f) => [f.paths[0], f]));
    expect(by.get('/runs/exp42/wandb')).toMatchObject({ bytes: n(expected.wandb.bytes), reclaimableBytes: n(expected.wandb.reclaimable) });
    expect(by.get('/runs/exp42/tb')).toMatchObject({ bytes: n(expected.tb.bytes), reclaimableBytes: 0n });
    expect(by.size).toBe(2);
  });

  it('core-dumps: core.<pid> files by type', () => {
    expect(of('core-dumps')).toMatchObject([{ paths: ['/jobs'], bytes: n(expected.core), files: 1n, reclaimableBytes: n(expected.core) }]);
  });

  it('trash: bytes per deletion day and when JuiceFS purges each', () => {
    const [f] = of('trash');
    expect(f).toMatchObject({ paths: ['/.trash'], bytes: n(expected.trash.bytes), files: 3n, reclaimableBytes: n(expected.trash.bytes) });
    expect(f!.details.days).toEqual(expected.trash.days);
  });

  it('sorts by reclaimable bytes, and never reports more reclaimable than bytes', () => {
    const all = run();
    for (let i = 1; i < all.length; i++) expect(all[i - 1]!.reclaimableBytes >= all[i]!.reclaimableBytes).toBe(true);
    for (const f of all) expect(f.reclaimableBytes <= f.bytes).toBe(true);
    expect(new Set(all.map((f) => f.rule))).toEqual(new Set(defaultSettings().map((s) => s.rule)));
  });

  it('settings: a disabled rule finds nothing, thresholds are applied', () => {
    const tuned = defaultSettings().map((s) =>
      s.rule === 'trash'
        ? { ...s, enabled: false }
        : s.rule === 'checkpoint-series'
          ? { ...s, params: { ...s.params, keep: 1 } }
          : s.rule === 'core-dumps'
            ? { ...s, params: { minBytes: 100 << 20 } }
            : s,
    );
    const fs = run(tuned);
    expect(of('trash', fs)).toEqual([]);
    expect(of('core-dumps', fs)).toEqual([]);
    const files = of('checkpoint-series', fs).find((f) => f.details.kind === 'files')!;
    expect(files.reclaimableBytes).toBe(n(4 * (1 << 30)));
    expect(files.details.kept).toEqual(['ckpt-5000.pt']);
  });
});
