/**
 * The findings rules: one table, one entry per kind of data engineers on a training platform
 * accumulate and forget (checkpoint series, Python environments, caches, experiment logs, core
 * dumps, trash). Each rule is a pure function of one walk's directories (with their profiles)
 * and its parameters; an admin can turn a rule off or tune its parameters (`insight-service.ts`).
 *
 * Reclaimable bytes are JuiceFS space (what the quota counts), never more than the finding's
 * bytes; a finding that is worth knowing about but not safe to call deletable (an environment
 * in use, a tracker folder written this week) reports 0 reclaimable.
 */
import type { DirectoryProfile } from '../meta/volume-metadata.js';
import { WalkTree, type TreeDir } from './walk-tree.js';

/** Rule identifiers (stable: stored with findings and settings). */
export const RULE_IDS = ['checkpoint-series', 'python-env', 'package-cache', 'framework-cache', 'pycache', 'experiment-logs', 'core-dumps', 'trash'] as const;
export type RuleId = (typeof RULE_IDS)[number];

/** Tunable parameters; each rule reads the ones it names in its defaults. */
export interface RuleParams {
  /** Findings smaller than this (bytes) are not reported. */
  minBytes: number;
  /** Checkpoint series: newest members kept (1–10). */
  keep?: number;
  /** Environments and logs: untouched for this many days counts as reclaimable. */
  staleDays?: number;
}

/** A rule's stored setting. */
export interface RuleSetting {
  rule: RuleId;
  enabled: boolean;
  params: RuleParams;
}

/** One finding of one walk. */
export interface Finding {
  rule: RuleId;
  /** The directories (or `dir/pattern` of a file series) involved, largest first, at most 20. */
  paths: string[];
  bytes: bigint;
  files: bigint;
  reclaimableBytes: bigint;
  /** Rule-specific figures the messages use (kept names, days, last modification…). */
  details: Record<string, unknown>;
}

/** What the rules look at. */
export interface RuleInput {
  tree: WalkTree;
  /** The walk's clock, seconds since the epoch. */
  now: number;
  /** The volume's TrashDays (JuiceFS purges a trash hour once it is older than this). */
  trashDays: number;
}

interface RuleDef {
  id: RuleId;
  defaults: RuleParams;
  find(input: RuleInput, p: RuleParams): Finding[];
}

const DAY = 86_400;
const MAX_PATHS = 20;
const CHECKPOINT_TYPES = new Set(['pt', 'pth', 'ckpt', 'safetensors', 'h5', 'keras', 'pdparams', 'distcp', 'bin', 'pkl', 'npz']);
const CHECKPOINT_WORD = /(checkpoint|ckpt|step|epoch|iter|global_step|model)/i;
const NUMBERED_DIR = /^(checkpoint|ckpt|step|epoch|iter|iteration|global_step)[-_=]?([0-9]+)$/i;

const big = (n: number | bigint) => BigInt(Math.round(Number(n)));
/** What deleting a directory frees: its subtree and its own 4 KiB inode. */
const foot = (d: TreeDir) => d.bytes + (d.path === '/' ? 0n : 4096n);
const sum = (xs: readonly TreeDir[], f: (d: TreeDir) => bigint) => xs.reduce((a, d) => a + f(d), 0n);
const byBytes = (a: TreeDir, b: TreeDir) => (b.bytes > a.bytes ? 1 : b.bytes < a.bytes ? -1 : 0);
const stale = (p: DirectoryProfile | undefined, now: number, days: number) => !!p && p.newestMtime > 0 && p.newestMtime < now - days * DAY;

/** One finding over whole directories: all their bytes, and what of them is reclaimable. */
function dirFinding(rule: RuleId, dirs: TreeDir[], reclaimable: (d: TreeDir) => bigint, details: Record<string, unknown> = {}): Finding {
  const sorted = [...dirs].sort(byBytes);
  return {
    rule,
    paths: sorted.slice(0, MAX_PATHS).map((d) => d.path),
    bytes: sum(dirs, foot),
    files: sum(dirs, (d) => d.files),
    reclaimableBytes: sum(dirs, reclaimable),
    details: { directories: dirs.length, ...details },
  };
}

/** Directories whose path ends with one of `suffixes` (segments), outermost only. */
function endingWith(t: WalkTree, suffixes: string[][]): TreeDir[] {
  const hits = t.live().filter((d) => {
    const segs = d.path.split('/');
    return suffixes.some((s) => s.length <= segs.length && s.every((x, i) => segs[segs.length - s.length + i] === x));
  });
  return t.outermost(hits);
}

/** Numbered checkpoint directories (`checkpoint-1000/`) of one parent, as one series. */
function checkpointDirs(t: WalkTree, keep: number): Finding[] {
  const groups = new Map<string, TreeDir[]>();
  for (const d of t.live()) {
    const m = NUMBERED_DIR.exec(d.name);
    if (!m) continue;
    const key = `${d.parentInode}/${m[1]!.toLowerCase()}`;
    const g = groups.get(key);
    if (g) g.push(d);
    else groups.set(key, [d]);
  }
  const out: Finding[] = [];
  for (const g of groups.values()) {
    if (g.length <= keep) continue;
    const num = (d: TreeDir) => Number(NUMBERED_DIR.exec(d.name)![2]);
    const ordered = [...g].sort((a, b) => num(b) - num(a));
    const old = ordered.slice(keep);
    const f = dirFinding('checkpoint-series', g, () => 0n, { kind: 'directories', kept: ordered.slice(0, keep).map((d) => d.name), series: g.length });
    f.reclaimableBytes = sum(old, foot);
    f.paths = old.slice(0, MAX_PATHS).map((d) => d.path);
    out.push(f);
  }
  return out;
}

/** Numbered checkpoint files of one directory (`step_#.ckpt`): all but the newest `keep`. */
function checkpointFiles(t: WalkTree, keep: number): Finding[] {
  const out: Finding[] = [];
  for (const d of t.live()) {
    for (const s of d.profile?.series ?? []) {
      const ext = /\.([a-z0-9_]+)$/i.exec(s.pattern)?.[1]?.toLowerCase() ?? '';
      if (s.files <= keep || !(CHECKPOINT_TYPES.has(ext) && (ext !== 'bin' || CHECKPOINT_WORD.test(s.pattern)))) continue;
      const kept = s.newest.slice(0, keep);
      const base = d.path === '/' ? '' : d.path;
      out.push({
        rule: 'checkpoint-series',
        paths: [`${base}/${s.pattern}`],
        bytes: big(s.bytes),
        files: big(s.files),
        reclaimableBytes: big(s.bytes - kept.reduce((a, m) => a + m.bytes, 0)),
        details: { kind: 'files', directory: d.path, pattern: s.pattern, kept: kept.map((m) => m.name), series: s.files },
      });
    }
  }
  return out;
}

/** Conda environments (a `conda-meta` folder) and virtualenvs (`lib/pythonX.Y/site-packages`). */
function environments(t: WalkTree): Array<{ dir: TreeDir; kind: 'conda' | 'venv' }> {
  const envs: Array<{ dir: TreeDir; kind: 'conda' | 'venv' }> = [];
  for (const d of t.live()) {
    if (t.child(d, 'conda-meta')) envs.push({ dir: d, kind: 'conda' });
    else if (t.child(d, 'bin') && t.childrenOf(t.child(d, 'lib') ?? d).some((l) => l !== d && /^python[0-9]/.test(l.name) && t.child(l, 'site-packages'))) envs.push({ dir: d, kind: 'venv' });
  }
  const outer = new Set(t.outermost(envs.map((e) => e.dir)));
  return envs.filter((e) => outer.has(e.dir));
}

/** The rules, in the order their findings tie-break. */
export const RULES: readonly RuleDef[] = [
  {
    id: 'checkpoint-series',
    defaults: { minBytes: 100 << 20, keep: 3 },
    find: ({ tree }, p) => [...checkpointDirs(tree, p.keep ?? 3), ...checkpointFiles(tree, p.keep ?? 3)],
  },
  {
    id: 'python-env',
    defaults: { minBytes: 100 << 20, staleDays: 30 },
    find: ({ tree, now }, p) =>
      environments(tree).map((e) =>
        dirFinding('python-env', [e.dir], (d) => (stale(d.profile, now, p.staleDays ?? 30) ? foot(d) : 0n), { kind: e.kind, lastModified: e.dir.profile?.newestMtime ?? 0 }),
      ),
  },
  {
    id: 'package-cache',
    defaults: { minBytes: 100 << 20 },
    find: ({ tree }) => {
      const condaPkgs = tree.live().filter((d) => d.name === 'pkgs' && tree.parentOf(d) && tree.child(tree.parentOf(d)!, 'conda-meta'));
      const dirs = tree.outermost([
        ...endingWith(tree, [
          ['.cache', 'pip'],
          ['.cache', 'uv'],
          ['.conda', 'pkgs'],
          ['.npm', '_cacache'],
        ]),
        ...condaPkgs,
      ]);
      return dirs.length ? [dirFinding('package-cache', dirs, foot)] : [];
    },
  },
  {
    id: 'framework-cache',
    defaults: { minBytes: 100 << 20 },
    find: ({ tree }) => {
      const dirs = endingWith(tree, [
        ['.cache', 'huggingface'],
        ['.cache', 'torch'],
        ['.cache', 'modelscope'],
        ['.triton', 'cache'],
        ['.nv', 'ComputeCache'],
      ]);
      return dirs.length ? [dirFinding('framework-cache', dirs, foot)] : [];
    },
  },
  {
    id: 'pycache',
    defaults: { minBytes: 10 << 20 },
    find: ({ tree }) => {
      const dirs = tree.outermost(tree.live().filter((d) => d.name === '__pycache__'));
      return dirs.length ? [dirFinding('pycache', dirs, foot)] : [];
    },
  },
  {
    id: 'experiment-logs',
    defaults: { minBytes: 100 << 20, staleDays: 30 },
    find: ({ tree, now }, p) => {
      const days = p.staleDays ?? 30;
      const named = tree.live().filter((d) => ['wandb', 'mlruns', 'tensorboard', 'tb_logs', 'lightning_logs'].includes(d.name) || d.profile?.directTypes.some((x) => x.type === 'tfevents'));
      const reclaim = (d: TreeDir): bigint =>
        stale(d.profile, now, days)
          ? foot(d)
          : sum(
              tree.childrenOf(d).filter((c) => stale(c.profile, now, days)),
              foot,
            );
      return tree.outermost(named).map((d) => dirFinding('experiment-logs', [d], reclaim, { lastModified: d.profile?.newestMtime ?? 0 }));
    },
  },
  {
    id: 'core-dumps',
    defaults: { minBytes: 1 << 20 },
    find: ({ tree }) => {
      const hits = tree.live().flatMap((d) => d.profile?.directTypes.filter((x) => x.type === 'core').map((x) => ({ d, x })) ?? []);
      if (!hits.length) return [];
      const bytes = big(hits.reduce((a, h) => a + h.x.bytes, 0));
      const paths = [...hits].sort((a, b) => b.x.bytes - a.x.bytes).map((h) => h.d.path);
      return [{ rule: 'core-dumps', paths: paths.slice(0, MAX_PATHS), bytes, files: big(hits.reduce((a, h) => a + h.x.files, 0)), reclaimableBytes: bytes, details: { directories: hits.length } }];
    },
  },
  {
    id: 'trash',
    defaults: { minBytes: 1 << 20 },
    find: ({ tree, trashDays }) => {
      // JuiceFS files a deletion under `.trash/YYYY-MM-DD-HH` and purges the hour once it is older than TrashDays.
      const hours = tree.dirs.filter((d) => d.inTrash && /^\/\.trash\/[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}$/.test(d.path));
      if (!hours.length) return [];
      const days = new Map<string, { day: string; bytes: bigint; files: bigint; purgesAt: string }>();
      for (const h of hours) {
        const [y, m, dd, hh] = h.name.split('-').map(Number) as [number, number, number, number];
        const purge = new Date(Date.UTC(y, m - 1, dd, hh) + trashDays * DAY * 1000).toISOString();
        const day = h.name.slice(0, 10);
        const e = days.get(day) ?? { day, bytes: 0n, files: 0n, purgesAt: purge };
        e.bytes += foot(h);
        e.files += h.files;
        if (purge > e.purgesAt) e.purgesAt = purge;
        days.set(day, e);
      }
      const list = [...days.values()].sort((a, b) => a.day.localeCompare(b.day));
      const f = dirFinding('trash', hours, foot, { trashDays, days: list.map((d) => ({ ...d, bytes: Number(d.bytes), files: Number(d.files) })) });
      f.paths = ['/.trash'];
      return [f];
    },
  },
];

/** Defaults of every rule (what an unset setting means). */
export const defaultSettings = (): RuleSetting[] => RULES.map((r) => ({ rule: r.id, enabled: true, params: { ...r.defaults } }));

/** Runs the enabled rules; findings below their rule's `minBytes` dropped, largest reclaimable first. */
export function runRules(input: RuleInput, settings: readonly RuleSetting[] = defaultSettings()): Finding[] {
  const by = new Map(settings.map((s) => [s.rule, s]));
  const out: Finding[] = [];
  RULES.forEach((r) => {
    const s = by.get(r.id) ?? { rule: r.id, enabled: true, params: r.defaults };
    if (!s.enabled) return;
    const params = { ...r.defaults, ...s.params };
    for (const f of r.find(input, params)) if (f.bytes >= BigInt(params.minBytes)) out.push(f);
  });
  const order = new Map(RULES.map((r, i) => [r.id, i]));
  return out.sort((a, b) =>
    b.reclaimableBytes > a.reclaimableBytes ? 1 : b.reclaimableBytes < a.reclaimableBytes ? -1 : b.bytes > a.bytes ? 1 : b.bytes < a.bytes ? -1 : order.get(a.rule)! - order.get(b.rule)!,
  );
}
