/**
 * Usage parity with a real mount: a realistic tree written through FUSE (many small files, a few
 * large ones, a sparse file, hard links across directories, symlinks, deleted files in trash,
 * non-UTF-8 names), then Headroom's usage (counters pass, through the API) against `df` on the
 * mount, and Headroom's walk (through the API) against `du`/`find` on every directory.
 *
 * How JuiceFS accounts, and which tool flags reproduce it:
 * - Volume totals (`usedSpace`/`totalInodes`, what Headroom reports) are Σ align4K(length) per
 *   regular file, 4096 per directory or symlink, each inode once, root excluded, trash included.
 *   `df -B1` (Used) and `df -i` (IUsed) on the mount show exactly these counters.
 * - Inodes per directory: `du -s --inodes DIR` counts each inode once per invocation (hard links
 *   deduplicated inside DIR, counted again in another DIR holding a link), plus DIR itself.
 * - Bytes per directory: no `du` flag reproduces align4K. JuiceFS reports st_blocks as
 *   ceil(length/512) (0 for an empty file, which the counters charge 4096), so `du -B1` (allocated
 *   blocks) undercounts small files; this is JuiceFS's own documented accounting (space is
 *   "align4K per file", juicefs-metadata §4), not a Headroom bug. So bytes are checked two ways:
 *   `du -sb` (apparent sizes, hard links once) equals Headroom's logical bytes + 4096 per
 *   directory (DIR included) + the symlinks' target lengths; and Σ align4K over `find -printf`
 *   (deduplicated by inode) equals Headroom's space figure.
 * - The mount root lists virtual entries (`.trash`, `.stats`, `.config`, `.accesslog`) that are no
 *   inodes of the volume tree: excluded at the root. Trash is reported apart and compared with
 *   `find .trash -mindepth 1`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, linkSync, symlinkSync, openSync, ftruncateSync, writeSync, closeSync, rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { request } from '../support/api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JuiceFsCli, mount, unmountAll, type TestMount } from '../support/real/juicefs.js';
import { realAvailable, startStack, type RealEngine, type RealStack } from '../support/real/stack.js';

const VIRTUAL = ['.trash', '.stats', '.config', '.accesslog'];
const align4K = (n: number) => (n <= 0 ? 4096 : Math.ceil(n / 4096) * 4096);

/** A shell-safe argument naming raw path bytes: `$(printf '\ooo…')`, so non-UTF-8 names survive. */
function rawArg(p: Buffer): string {
  return `"$(printf '${[...p].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('')}')"`;
}

function sh(cmd: string): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'latin1', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
}

/** What the tools say about one directory of the mount (root: virtual entries left out). */
function measure(dir: Buffer, isRoot: boolean) {
  const excl = isRoot ? VIRTUAL.map((v) => `--exclude=${v}`).join(' ') : '';
  const prune = isRoot ? `\\( ${VIRTUAL.map((v) => `-path ${rawArg(Buffer.concat([dir, Buffer.from(`/${v}`)]))}`).join(' -o ')} \\) -prune -o` : '';
  const duInodes = Number(sh(`du -s --inodes ${excl} ${rawArg(dir)}`).split('\t')[0]);
  const duApparent = Number(sh(`du -sb ${excl} ${rawArg(dir)}`).split('\t')[0]);
  const seen = new Map<string, { type: string; size: number }>();
  for (const line of sh(`find ${rawArg(dir)} -mindepth 1 ${prune} -printf '%i %y %s\\n'`).split('\n')) {
    if (!line) continue;
    const [ino, type, size] = line.split(' ');
    seen.set(ino!, { type: type!, size: Number(size) });
  }
  let space = 0;
  let symlinkBytes = 0;
  let dirs = 0;
  for (const { type, size } of seen.values()) {
    space += type === 'f' ? align4K(size) : 4096;
    if (type === 'l') symlinkBytes += size;
    if (type === 'd') dirs++;
  }
  return { duInodes, duApparent, space, symlinkBytes, dirs, inodes: seen.size };
}

/** Writes the tree through the mount; returns nothing: every figure is measured afterwards. */
function writeTree(root: string): void {
  const p = (...x: string[]) => path.join(root, ...x);
  mkdirSync(p('small'));
  for (let i = 0; i < 60; i++) writeFileSync(p('small', `f${i}`), Buffer.alloc(i * 173, i)); // 0 B .. 10 KB
  mkdirSync(p('big'));
  writeFileSync(p('big', 'five.bin'), Buffer.alloc(5 * 1024 * 1024 + 3, 7)); // spans two 4 MiB blocks
  writeFileSync(p('big', 'nine.bin'), Buffer.alloc(9 * 1024 * 1024, 9));
  // Sparse: 70 MiB long (two 64 MiB chunks) with one byte written; JuiceFS charges the length.
  const fd = openSync(p('big', 'sparse.img'), 'w');
  ftruncateSync(fd, 70 * 1024 * 1024);
  writeSync(fd, Buffer.from('x'), 0, 1, 65 * 1024 * 1024);
  closeSync(fd);
  mkdirSync(p('deep', 'a', 'b', 'c'), { recursive: true });
  writeFileSync(p('deep', 'a', 'b', 'c', 'leaf.txt'), 'leaf\n');
  mkdirSync(p('links'));
  // Hard links across directories: one file in three directories, one big file in two.
  linkSync(p('small', 'f10'), p('links', 'f10-again'));
  linkSync(p('small', 'f10'), p('deep', 'a', 'b', 'f10-deep'));
  linkSync(p('big', 'nine.bin'), p('links', 'nine-again.bin'));
  linkSync(p('small', 'f11'), p('small', 'f11-same-dir')); // two links in one directory
  symlinkSync('../small/f2', p('links', 'to-f2'));
  symlinkSync('/nowhere/at/all', p('links', 'dangling'));
  // Non-UTF-8 names: a GBK file name and a directory whose name is invalid UTF-8.
  const gbkDir = Buffer.concat([Buffer.from(root), Buffer.from('/names')]);
  mkdirSync(gbkDir);
  writeFileSync(Buffer.concat([gbkDir, Buffer.from('/'), Buffer.from([0xd6, 0xd0, 0xce, 0xc4]), Buffer.from('.txt')]), 'gbk\n');
  const badDir = Buffer.concat([gbkDir, Buffer.from('/'), Buffer.from([0xff, 0xfe, 0x64])]);
  mkdirSync(badDir);
  writeFileSync(Buffer.concat([badDir, Buffer.from('/inside')]), Buffer.alloc(5000, 1));
  // Deleted files and a deleted directory: into the trash (TrashDays 1), still in the counters.
  mkdirSync(p('scratch', 'tmp'), { recursive: true });
  for (let i = 0; i < 5; i++) writeFileSync(p('scratch', `t${i}`), Buffer.alloc(3000 * (i + 1), 3));
  writeFileSync(p('scratch', 'tmp', 'x'), Buffer.alloc(8192, 4));
  for (let i = 0; i < 3; i++) unlinkSync(p('scratch', `t${i}`));
  rmSync(p('scratch', 'tmp'), { recursive: true });
  unlinkSync(p('small', 'f12'));
}

const engines = (['etcd', 'redis'] as const).map((engine) => ({ engine, available: realAvailable(engine, 'juicefs-1.4') }));

describe.each(engines)('usage parity with a FUSE mount on $engine', ({ engine, available }: { engine: RealEngine; available: boolean }) => {
  if (!available) return void it.skip('needs PostgreSQL, the engine server and juicefs 1.4');
  let s: RealStack;
  let m: TestMount;
  let vol: { id: string; metaUrl: string };

  beforeAll(async () => {
    s = await startStack(engine);
    vol = await s.createVolume('usage');
    m = await mount(JuiceFsCli.of('juicefs-1.4'), vol.metaUrl);
    console.log(`[real] ${engine}: writing the tree through a FUSE mount (juicefs mount, heartbeat 1 s)`);
    writeTree(m.path);
    sh(`sync -f ${m.path}`);
  });
  afterAll(async () => {
    await unmountAll();
    await s?.stop();
  });

  it('reports the usage df shows on the mount, after a counters pass', async () => {
    const df = () => {
      const bytes = Number(sh(`df -B1 --output=used ${m.path}`).split('\n')[1]);
      const inodes = Number(sh(`df --output=iused ${m.path}`).split('\n')[1]);
      return { bytes, inodes };
    };
    // TKV clients flush counter deltas about once a second: wait until df and Headroom agree.
    let got: { usedBytes: number; usedInodes: number } | undefined;
    let want = df();
    for (let i = 0; i < 20; i++) {
      await s.runJob('counters');
      got = (await request(s.app.http).get(`/v1/volumes/${vol.id}/usage`).set('authorization', s.admin)).body;
      want = df();
      if (got?.usedBytes === want.bytes && got?.usedInodes === want.inodes) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect({ usedBytes: got?.usedBytes, usedInodes: got?.usedInodes }).toEqual({ usedBytes: want.bytes, usedInodes: want.inodes });
    console.log(`[real] ${engine}: usage ${want.bytes} B / ${want.inodes} inodes, equal to df -B1 / df -i`);
  });

  it('walks to the figures du and find give for every directory, hard links in each, trash apart', async () => {
    const walk = await s.walk(vol.id);
    expect(walk.state).toBe('succeeded');
    expect(walk.result.mismatch).toBeNull(); // walk totals (tree + trash) = counters
    const dirs = (await s.directories(vol.id, 20, 500)).filter((d) => !String(d.path).startsWith('/.trash'));
    expect(dirs.length).toBeGreaterThanOrEqual(10);
    const mnt = Buffer.from(m.path);
    for (const d of dirs) {
      const rel = Buffer.from(String(d.pathBase64), 'base64');
      const isRoot = rel.equals(Buffer.from('/'));
      const t = measure(isRoot ? mnt : Buffer.concat([mnt, rel]), isRoot);
      const label = `${d.path} (inode ${d.inode})`;
      expect({ label, inodes: d.inodes + 1, dirs: d.dirs, bytes: d.bytes }).toEqual({ label, inodes: t.duInodes, dirs: t.dirs, bytes: t.space });
      expect({ label, inodes: d.inodes }).toEqual({ label, inodes: t.inodes });
      expect({ label, apparent: d.logicalBytes + 4096 * (d.dirs + 1) + t.symlinkBytes }).toEqual({ label, apparent: t.duApparent });
    }
    console.log(`[real] ${engine}: ${dirs.length} directories match du/find (bytes, inodes, dirs, apparent size)`);
    // The trash: everything under .trash (its hour directories and the deleted entries).
    const trash = measure(Buffer.concat([mnt, Buffer.from('/.trash')]), false);
    expect(trash.inodes).toBe(7); // hour dir, t0..t2, tmp, tmp/x, f12
    expect(walk.result.trash).toMatchObject({ inodes: String(trash.inodes), bytes: String(trash.space) });
    const root = dirs.find((d) => d.path === '/')!;
    const df = Number(sh(`df -B1 --output=used ${m.path}`).split('\n')[1]);
    expect(root.bytes + trash.space).toBe(df); // the hard-linked files count once in the total
  });
});
