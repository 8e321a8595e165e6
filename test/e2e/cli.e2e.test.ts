/** The CLI as a user runs it: a child process talking to a live API over HTTP. */
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { parseMetaUrl } from '../../server/meta/meta-url.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { commands, runCli } from '../../scripts/cli/main.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

describe.skipIf(!pgAvailable())('npm run cli', () => {
  let t: TestApp;
  let server: Server;
  let url: string;
  let volumeId: string;
  let store: LocalEngine;

  beforeAll(async () => {
    t = await createTestApp();
    server = t.http.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme', displayName: 'Acme', email: 'a@example.com' });
    const v = await request(t.http)
      .post('/v1/tenants/acme/volumes')
      .set('authorization', admin)
      .send({ name: 'data', quota: { hardBytes: 100_000_000 } });
    volumeId = v.body.id;
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
    const fx = new FixtureBuilder(store, new TkvVolume(store, parseMetaUrl(v.body.metaUrl).prefix).keys);
    await fx.file(ROOT_INODE, 'big', 120_000_000);
    await fx.finish();
    await t.services.enforcement.countersPass();
  }, 60_000);
  afterAll(async () => {
    server?.close();
    await store?.close();
    await t?.close();
  });

  const cli = async (token: string, ...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], { cwd: root, env: { ...process.env, HEADROOM_URL: url, HEADROOM_TOKEN: token } });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('lists volumes with usage, explains a freeze, files a request; an admin approves it', async () => {
    const eve = t.token('engineer', 'eve', ['acme']);
    const list = await cli(eve, 'volumes');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+TENANT\s+NAME\s+ENGINE\s+STATE\s+USED\s+HARD\s+USE%\s+ENFORCEMENT$/m);
    expect(list.stdout).toMatch(new RegExp(`${volumeId}\\s+acme\\s+data\\s+local\\s+active\\s+120 MB\\s+100 MB\\s+120%\\s+frozen`));

    const why = await cli(eve, 'enforcement', volumeId);
    expect(why.code).toBe(0);
    expect(why.stdout).toContain('state: frozen (hard_bytes_reached)');
    expect(why.stdout).toMatch(/- Ask for more room/);

    const dry = await cliIn(eve, 'request', volumeId, '--hard', '200MB', '--reason', 'new dataset', '--dry-run');
    expect([dry.code, dry.stdout]).toEqual([0, expect.stringMatching(/^would wait for an admin: /)]);
    const ask = await cli(eve, 'request', volumeId, '--hard', '200MB', '--reason', 'new dataset');
    expect(ask.code).toBe(0);
    const id = /^(qrq_[0-9a-z]+): pending/m.exec(ask.stdout)?.[1];
    expect(id).toBeDefined();

    const admin = t.token('admin', 'root');
    const queue = await cli(admin, 'requests', '--state', 'pending');
    expect(queue.stdout).toMatch(new RegExp(`${id}\\s+${volumeId}\\s+pending\\s+hardBytes=200 MB`));
    const ok = await cli(admin, 'approve', id!, '--hard', '150MB', '--comment', 'enough for now');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${id}: approved, granted hardBytes=150 MB`);
    expect((await cli(eve, 'enforcement', volumeId)).stdout).toContain('state: ok');
  });

  it('prints how to mount a volume, and the same as JSON', async () => {
    const eve = t.token('engineer', 'eve', ['acme']);
    const text = await cli(eve, 'mount', volumeId);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`juicefs mount --background 'local://`);
    expect(text.stdout).toMatch(/^# \/etc\/fstab\nlocal:\/\/\S+ \/mnt\/jfs\/data juicefs _netdev 0 0$/m);
    expect(text.stdout).toMatch(/^kind: Secret$/m);
    expect(text.stdout).toMatch(/^kind: PersistentVolume$/m);
    expect(text.stdout).toMatch(/^kind: PersistentVolumeClaim$/m);
    expect(text.stdout).toMatch(/^- local:\/\/ is Headroom's embedded metadata store/m);
    const json = await cli(eve, 'mount', volumeId, '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ volumeId, engine: 'local', storage: { kind: 'file' }, mountPoint: '/mnt/jfs/data' });
    expect((await cli(eve, 'mount')).code).toBe(2);
    const other = await cli(t.token('engineer', 'mallory', ['beta']), 'mount', volumeId);
    expect(other.code).toBe(4);
    expect(other.stderr).toMatch(/\(volume_not_found\)/);
  });

  it('exits non-zero with the API error, or with usage on bad input', async () => {
    const eve = t.token('engineer', 'eve', ['acme']);
    const denied = await cli(eve, 'deny', 'qrq_00000000000000000000000000', '--reason', 'nope');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/error: .*\(forbidden\)/);
    const bad = await cli(eve, 'request', volumeId, '--hard', 'lots', '--reason', 'x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"lots" is not a size');
    expect((await cli(eve, 'frobnicate')).code).toBe(2);
    const noToken = await cli('', 'volumes');
    expect(noToken.code).toBe(2);
  });
  /** The same CLI in this process (fast): real HTTP to the live server, output captured. */
  const cliIn = async (token: string, ...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: { HEADROOM_URL: url, HEADROOM_TOKEN: token } });
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  };

  it('has --help on every command, naming its arguments and options', async () => {
    for (const c of commands) {
      const h = await cliIn('', ...c.name.split(' '), '--help');
      expect(h.code, c.name).toBe(0);
      expect(h.stdout, c.name).toContain(`npm run cli -- ${c.name}`);
      for (const a of c.args ?? []) expect(h.stdout).toContain(a);
      for (const o of Object.keys(c.options ?? {})) expect(h.stdout, `${c.name} --${o}`).toContain(`--${o}`);
    }
    const all = await cliIn('', '--help');
    expect(all.stdout).toMatch(/exit codes: 0 ok, 1 refused by the API \(4xx\), 2 bad usage, 3 unreachable/);
    expect((await cliIn('')).code).toBe(2);
  });

  it('names the URL it cannot reach and exits 3; flags win over the environment', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const dead = await cliIn(t.token('admin', 'root'), '--url', `http://127.0.0.1:${closed}`, 'tenants');
    expect(dead.code, dead.stderr).toBe(3);
    expect(dead.stderr).toMatch(/cannot reach Headroom at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    const viaFlag = await cliIn('', '--token', t.token('admin', 'root'), 'tenants', '--json');
    expect(viaFlag.code).toBe(0);
    expect(JSON.parse(viaFlag.stdout).map((x: { id: string }) => x.id)).toContain('acme');
  });

  it('drives a volume from creation to purge, as an admin would', async () => {
    const admin = t.token('admin', 'root');
    const made = await cliIn(admin, 'tenants', 'create', 'zeta', '--name', 'Zeta Lab', '--email', 'z@example.com', '--language', 'zh');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^language: zh$/m);
    expect((await cliIn(admin, 'tenants', 'update', 'zeta', '--tier', 'gold')).stdout).toMatch(/^tier: gold$/m);
    expect((await cliIn(admin, 'tenants', 'create', 'zeta', '--name', 'Zeta')).stderr).toContain('--email is required');

    const v = JSON.parse((await cliIn(admin, '--json', 'volumes', 'create', 'zeta', 'scratch', '--hard', '1GB', '--soft', '800MB')).stdout);
    expect(v).toMatchObject({ tenantId: 'zeta', name: 'scratch', state: 'active', quota: { hardBytes: 1e9, softBytes: 8e8 } });
    expect((await cliIn(admin, 'volumes', 'show', v.id)).stdout).toMatch(/^quota: .*hardBytes=1 GB/m);
    expect((await cliIn(admin, 'usage', v.id)).stdout).toMatch(/^used: .* \(read /m);
    expect((await cliIn(admin, 'history', v.id, '--resolution', 'raw')).stdout).toMatch(/^AT\s+BYTES\s+INODES\s+RESOLUTION/);

    const walk = await cliIn(admin, 'walk', v.id, '--wait');
    expect(walk.stdout).toMatch(/^wlk_\S+: succeeded, \d+ keys read$/);
    const dirs = await cliIn(admin, 'directories', v.id, '--depth', '1');
    expect(dirs.stdout).toMatch(/^walk wlk_\S+ \(succeeded, finished /);
    expect(dirs.stdout).toMatch(/^\/\s+\d/m);

    const frozen = await cliIn(admin, 'freeze', v.id, '--reason', 'maintenance window');
    expect(frozen.stdout).toMatch(/^state: frozen \(manual_freeze\)/);
    expect(frozen.stdout).toMatch(/^LAYER\s+DESIRED\s+OBSERVED/m);
    expect((await cliIn(admin, 'unfreeze', v.id, '--reason', 'done')).stdout).toMatch(/^state: ok/);

    expect((await cliIn(admin, 'volumes', 'purge', v.id, '--confirm', 'scratch')).code).toBe(1);
    expect((await cliIn(admin, 'volumes', 'delete', v.id)).stdout).toBe(`${v.id}: deleting`);
    expect((await cliIn(admin, 'volumes', 'purge', v.id, '--confirm', 'scratch')).stdout).toBe(`${v.id}: purged`);
    const audit = await cliIn(admin, 'audit', '--id', v.id);
    expect(audit.stdout).toMatch(/volume\.purged\s+volume\//);
    expect(audit.stdout).toMatch(/volume\.created\s+volume\//);
  });

  it('fit: prints the verdict, exits 0 when the write fits and 5 when it would not', async () => {
    const admin = `Bearer ${t.token('admin', 'root')}`;
    const v = await request(t.http)
      .post('/v1/tenants/acme/volumes')
      .set('authorization', admin)
      .send({ name: 'ckpts', quota: { softBytes: 80_000_000, hardBytes: 100_000_000 } });
    const fx = new FixtureBuilder(store, new TkvVolume(store, parseMetaUrl(v.body.metaUrl).prefix).keys);
    await fx.file(ROOT_INODE, 'step-1000.pt', 50_000_000);
    await fx.finish();
    const eve = t.token('engineer', 'eve', ['acme']);
    const ok = await cli(eve, 'fit', v.body.id, '--bytes', '20MB', '--inodes', '4');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^fits: 20 MB charged at most$/m);
    expect(ok.stdout).toMatch(/^charged: 20000000 bytes in 4 new inode\(s\)/m);
    const soft = await cliIn(eve, 'fit', v.body.id, '--bytes', '35MB');
    expect(soft.code).toBe(0);
    expect(soft.stdout).toMatch(/^soft limit: crossed; a grace period would start, ending \S+Z$/m);
    const no = await cli(eve, 'fit', v.body.id, '--bytes', '50MB');
    expect(no.code).toBe(5);
    expect(no.stdout).toMatch(/^does not fit: refused by juicefs_capacity, hard_bytes$/m);
    expect(no.stderr).toContain('the write would not fit');
    const json = await cliIn(eve, '--json', 'fit', v.body.id, '--bytes', '50MB');
    expect(json.code).toBe(5);
    expect(JSON.parse(json.stdout)).toMatchObject({ volumeId: v.body.id, fits: false, write: { bytes: 50_000_000, inodes: 1 } });
    expect((await cliIn(eve, 'fit', v.body.id)).code).toBe(2);
    expect((await cliIn(eve, 'fit', v.body.id, '--bytes', 'lots')).code).toBe(2);
    expect((await cliIn(t.token('engineer', 'mallory', ['beta']), 'fit', v.body.id, '--bytes', '1')).code).toBe(4);
  });

  it('manages rules, shows notifications, templates and jobs', async () => {
    const admin = t.token('admin', 'root');
    const bad = await cliIn(admin, 'rules', 'create', '--tier', 'standard', '--kind', 'percent_increase', '--params', 'fifty');
    expect(bad.code).toBe(2);
    const rule = JSON.parse(
      (await cliIn(admin, '--json', 'rules', 'create', '--tier', 'standard', '--kind', 'percent_increase', '--params', '{"maxPercent":10,"cooldownDays":1}', '--description', 'small bumps')).stdout,
    );
    expect(rule).toMatchObject({ tier: 'standard', kind: 'percent_increase', params: { maxPercent: 10 }, enabled: true });
    expect((await cliIn(admin, 'rules')).stdout).toContain(rule.id);
    expect((await cliIn(admin, 'rules', 'delete', rule.id)).code).toBe(0);
    expect((await cliIn(admin, 'rules')).stdout).not.toContain(rule.id);

    const notes = await cliIn(admin, 'notifications', '--volume', volumeId);
    expect(notes.stdout).toMatch(/^ID\s+AT\s+TYPE\s+AUDIENCE\s+VOLUME\s+DELIVERIES/);
    expect(notes.stdout).toMatch(/\squota\.frozen\s+tenant\s/);
    expect((await cliIn(admin, 'templates')).stdout).toMatch(/^TYPE\s+LANG\s+OVERRIDDEN\s+SUBJECT/);
    const run = await cliIn(admin, 'jobs', 'run', 'counters', '--wait');
    expect(run.stdout).toMatch(/^run_\S+: succeeded /);
    expect((await cliIn(admin, 'jobs')).stdout).toMatch(/^counters\s+\S+/m);
    expect((await cliIn(t.token('engineer', 'eve', ['acme']), 'jobs')).code).toBe(1);
  });

  it('manages directory quotas: create, list, check, freeze, unfreeze, a dry-run request, delete', async () => {
    const admin = t.token('admin', 'root');
    const v = JSON.parse((await cliIn(admin, '--json', 'volumes', 'create', 'acme', 'team', '--hard', '1GB')).stdout);
    const fx = new FixtureBuilder(store, new TkvVolume(store, parseMetaUrl(v.metaUrl).prefix).keys);
    const alice = await fx.mkdir(ROOT_INODE, 'alice');
    await fx.file(alice, 'a.bin', 1_000_000);
    await fx.finish();
    const made = await cliIn(admin, '--json', 'dirquotas', 'create', v.id, '--path', '/alice', '--hard', '100MB', '--soft', '80MB', '--owner', 'eve');
    expect(made.code, made.stderr).toBe(0);
    const q = JSON.parse(made.stdout);
    expect(q).toMatchObject({ path: '/alice', ownerSub: 'eve', managed: true, quota: { hardBytes: 100_000_000 } });
    const eve = t.token('engineer', 'eve', ['acme']);
    expect((await cliIn(eve, 'dirquotas', v.id)).stdout).toMatch(new RegExp(`^${q.id}\\s+/alice\\s+eve\\s+yes\\s+1 MB`, 'm'));
    expect((await cliIn(admin, 'dirquotas', 'check', v.id, q.id)).stdout).toMatch(/^consistent: /);
    expect((await cliIn(admin, 'dirquotas', 'freeze', v.id, q.id, '--reason', 'tidy up first')).stdout).toMatch(/\sfrozen$/m);
    expect((await cliIn(admin, 'dirquotas', 'unfreeze', v.id, q.id, '--reason', 'done')).stdout).toMatch(/\sok$/m);
    const dry = await cliIn(eve, 'dirquotas', 'request', v.id, q.id, '--hard', '200MB', '--reason', 'more data', '--dry-run');
    expect([dry.code, dry.stdout]).toEqual([0, expect.stringMatching(/^would (wait for an admin|be approved at once by rule \S+): /)]);
    expect((await cliIn(t.token('engineer', 'bob', ['acme']), 'dirquotas', 'show', v.id, q.id)).code).toBe(4);
    expect((await cliIn(admin, 'dirquotas', 'delete', v.id, q.id)).stdout).toBe(`${q.id}: deleted`);
    expect((await cliIn(admin, 'dirquotas', v.id)).stdout).not.toContain(q.id);
  });
});
