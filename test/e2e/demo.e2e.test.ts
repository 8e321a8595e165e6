/**
 * `npm run demo` as a user runs it: a child process against a live API on a free port, minting
 * its own tokens from JWT_SECRET. Checks the end state through the API (volumes filled and walked,
 * one of them frozen and released), that a second run changes nothing, and that `--reset` removes
 * what the demo made.
 */
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/api.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, testSecret, type TestApp } from '../support/test-app.js';

const exec = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

describe.skipIf(!pgAvailable())('npm run demo', () => {
  let t: TestApp;
  let server: Server;
  let url: string;
  let admin: string;

  beforeAll(async () => {
    t = await createTestApp();
    server = t.http.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    admin = `Bearer ${t.token('admin', 'root')}`;
  });
  afterAll(async () => {
    server?.close();
    await t?.close();
  });

  const demo = async (...args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, HEADROOM_URL: url, JWT_SECRET: testSecret, DATA_DIR: t.dataDir };
    delete env.HEADROOM_TOKEN;
    try {
      const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], { cwd: root, env, timeout: 150_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const get = async (p: string) => {
    const res = await request(t.http).get(p).set('authorization', admin);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const demoVolumes = async () => ((await get('/v1/volumes?tenantId=demo')).items as { id: string; name: string; state: string }[]).sort((a, b) => a.name.localeCompare(b.name));

  it('fills and walks three volumes and takes one through soft, grace and frozen back to ok', async () => {
    const out = await demo('--grace', '2');
    expect(out.code, out.stderr + out.stdout).toBe(0);
    expect(out.stdout).toMatch(/look: curl -s "http:\/\/127\.0\.0\.1:\d+\/v1\/volumes\/vol_\w+\/enforcement" -H "authorization: Bearer \$T"/);

    const vols = await demoVolumes();
    expect(vols.map((v) => [v.name, v.state])).toEqual([
      ['checkpoints', 'active'],
      ['datasets', 'active'],
      ['envs', 'active'],
    ]);
    for (const v of vols) {
      const dirs = await get(`/v1/volumes/${v.id}/directories?depth=1`);
      expect(dirs.walk, v.name).toMatchObject({ state: 'succeeded', result: { mismatch: null } });
      expect(dirs.items.length).toBeGreaterThan(0);
      expect((await get(`/v1/volumes/${v.id}/usage`)).usedInodes).toBeGreaterThan(50);
    }
    const ckpt = vols.find((v) => v.name === 'checkpoints')!;
    const e = await get(`/v1/volumes/${ckpt.id}/enforcement`);
    expect(e.state).toBe('ok');
    const path = (e.history as { to: string; at: string }[]).sort((a, b) => a.at.localeCompare(b.at)).map((h) => h.to);
    expect(path.slice(-3)).toEqual(['over_soft', 'frozen', 'ok']);
    const reqs = await get(`/v1/quota-requests?volumeId=${ckpt.id}`);
    expect(reqs.items).toMatchObject([{ state: 'approved', requestedBy: 'demo-engineer', granted: { hardBytes: 200_000_000_000 } }]);
    // conda's hard links: each file counts in pkgs/ and in envs/, and once in miniconda3/ above both.
    const envs = vols.find((v) => v.name === 'envs')!;
    const dirs = (await get(`/v1/volumes/${envs.id}/directories?depth=2&limit=50`)).items as { path: string; inodes: number }[];
    const inodes = (p: string) => dirs.find((d) => d.path === p)!.inodes;
    expect(inodes('/miniconda3/pkgs') + inodes('/miniconda3/envs')).toBeGreaterThan(inodes('/miniconda3') + 500);
  }, 180_000);

  it('changes nothing when run again', async () => {
    const before = await demoVolumes();
    const walks = await Promise.all(before.map(async (v) => (await get(`/v1/volumes/${v.id}/directories?depth=1`)).walk.id as string));
    const out = await demo('--grace', '2');
    expect(out.code, out.stderr + out.stdout).toBe(0);
    expect(out.stdout.match(/already holds \d+ inodes/g)).toHaveLength(3);
    expect(out.stdout).toContain('the freeze cycle already ran');
    expect(await demoVolumes()).toEqual(before);
    expect(await Promise.all(before.map(async (v) => (await get(`/v1/volumes/${v.id}/directories?depth=1`)).walk.id))).toEqual(walks);
    expect((await get(`/v1/quota-requests?volumeId=${before[0]!.id}`)).items).toHaveLength(1);
  }, 180_000);

  it('--reset deletes and purges the volumes and keeps the tenant', async () => {
    const out = await demo('--reset');
    expect(out.code, out.stderr + out.stdout).toBe(0);
    expect((await demoVolumes()).map((v) => v.state)).toEqual(['purged', 'purged', 'purged']);
    expect((await get('/v1/tenants/demo')).id).toBe('demo');
    const again = await demo('--reset');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to remove');
  }, 120_000);
});
