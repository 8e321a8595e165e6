/**
 * The demo volume of the insights tests: a training team's volume with every kind of finding,
 * built through the real fixture codecs on any engine, and the figures its findings must show,
 * computed here independently of the walk. Sizes are multiples of 4 KiB (space = length), and a
 * directory's footprint is its subtree plus its own 4 KiB inode (what deleting it frees).
 */
import { ROOT_INODE } from '../../../server/meta/tkv/keys.js';
import type { TreeFixture } from '../../../server/meta/tree-fixture.js';

export const MiB = 1 << 20;
export const GiB = 1 << 30;
/** A directory's own inode. */
export const DIR = 4096;
/** The walk's clock in these tests. */
export const NOW = new Date('2026-12-01T00:00:00Z');
export const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000);

/** Builds the demo tree, ages relative to `at`; returns the counters and what the findings must say. */
export async function buildDemoTree(fx: TreeFixture<unknown>, at: Date = NOW) {
  const daysAgo = (d: number) => new Date(at.getTime() - d * 86_400_000);
  const runs = await fx.mkdir(ROOT_INODE, 'runs');
  const exp42 = await fx.mkdir(runs, 'exp42');
  // Checkpoint files: 5 × 1 GiB, keep the newest 3.
  const ckpts = await fx.mkdir(exp42, 'checkpoints');
  for (const step of [1000, 2000, 3000, 4000, 5000]) await fx.file(ckpts, `ckpt-${step}.pt`, GiB, { mtime: daysAgo(10 - step / 1000) });
  // Checkpoint folders: 5 × (one 200 MiB file), keep 3.
  for (const step of [100, 200, 300, 400, 500]) {
    const d = await fx.mkdir(exp42, `checkpoint-${step}`);
    await fx.file(d, 'model.safetensors', 200 * MiB, { mtime: daysAgo(3) });
  }
  // A conda installation untouched for 200 days, with its package cache.
  const home = await fx.mkdir(await fx.mkdir(ROOT_INODE, 'home'), 'u');
  const conda = await fx.mkdir(home, 'miniconda3');
  await fx.file(await fx.mkdir(conda, 'conda-meta'), 'history', 4096, { mtime: daysAgo(200) });
  await fx.file(await fx.mkdir(conda, 'pkgs'), 'torch-2.1.tar.bz2', 500 * MiB, { mtime: daysAgo(200) });
  const site = await fx.mkdir(await fx.mkdir(await fx.mkdir(conda, 'lib'), 'python3.11'), 'site-packages');
  await fx.file(site, 'libtorch.so', 300 * MiB, { mtime: daysAgo(200) });
  // Caches.
  const cache = await fx.mkdir(home, '.cache');
  await fx.file(await fx.mkdir(await fx.mkdir(cache, 'huggingface'), 'hub'), 'model.safetensors', 2 * GiB, { mtime: daysAgo(5) });
  await fx.file(await fx.mkdir(await fx.mkdir(cache, 'pip'), 'http'), 'wheel-cache', 150 * MiB, { mtime: daysAgo(5) });
  const pkg = await fx.mkdir(await fx.mkdir(ROOT_INODE, 'src'), 'pkg');
  const pycache = await fx.mkdir(pkg, '__pycache__');
  await fx.file(pycache, 'a.cpython-311.pyc', 20 * MiB);
  await fx.file(pkg, '__init__.py', 0); // empty: 4 KiB, as JuiceFS counts it
  // Experiment tracking: one stale run, one fresh; TensorBoard events elsewhere.
  const wandb = await fx.mkdir(exp42, 'wandb');
  await fx.file(await fx.mkdir(wandb, 'run-1'), 'output.log', 150 * MiB, { mtime: daysAgo(60) });
  await fx.file(await fx.mkdir(wandb, 'run-2'), 'output.log', 10 * MiB, { mtime: daysAgo(1) });
  await fx.file(await fx.mkdir(exp42, 'tb'), 'events.out.tfevents.1700000000.host.1.0', 120 * MiB, { mtime: daysAgo(2) });
  // A core dump.
  await fx.file(await fx.mkdir(ROOT_INODE, 'jobs'), 'core.1234', 50 * MiB, { mtime: daysAgo(400) });
  // Hard links: one 400 MiB file in two folders (counted in both, once in the total).
  const shared = await fx.mkdir(ROOT_INODE, 'shared');
  const a = await fx.mkdir(shared, 'a');
  const b = await fx.mkdir(shared, 'b');
  const linked = await fx.file(a, 'big.bin', 400 * MiB, { linkable: true, mtime: daysAgo(100) });
  await fx.link(linked, b, 'big-link.bin');
  // Trash: three hours on two days.
  for (const [hour, size] of [
    ['2026-11-29-03', 50 * MiB],
    ['2026-11-30-10', 300 * MiB],
    ['2026-11-30-15', 100 * MiB],
  ] as const) {
    await fx.file(await fx.trashDir(hour), `1-${size}-deleted`, size);
  }
  const totals = await fx.finish();
  return {
    totals,
    expected: {
      checkpointFiles: { bytes: 5 * GiB, reclaimable: 2 * GiB, kept: ['ckpt-5000.pt', 'ckpt-4000.pt', 'ckpt-3000.pt'] },
      checkpointDirs: { bytes: 5 * (200 * MiB + DIR), reclaimable: 2 * (200 * MiB + DIR), old: ['/runs/exp42/checkpoint-200', '/runs/exp42/checkpoint-100'] },
      // itself, conda-meta + history, pkgs + tarball, lib/python3.11/site-packages + .so
      condaEnv: 7 * DIR + 800 * MiB,
      packageCaches: 500 * MiB + DIR + (150 * MiB + 2 * DIR),
      hfCache: 2 * GiB + 2 * DIR,
      pycache: 20 * MiB + DIR,
      wandb: { bytes: 160 * MiB + 3 * DIR, reclaimable: 150 * MiB + DIR },
      tb: { bytes: 120 * MiB + DIR, reclaimable: 0 },
      core: 50 * MiB,
      trash: {
        bytes: 450 * MiB + 3 * DIR,
        days: [
          { day: '2026-11-29', bytes: 50 * MiB + DIR, files: 1, purgesAt: '2026-11-30T03:00:00.000Z' },
          { day: '2026-11-30', bytes: 400 * MiB + 2 * DIR, files: 2, purgesAt: '2026-12-01T15:00:00.000Z' },
        ],
      },
      linked: { shared: 400 * MiB + 2 * DIR, a: 400 * MiB, b: 400 * MiB },
    },
  };
}
