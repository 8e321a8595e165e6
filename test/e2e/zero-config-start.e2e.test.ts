/**
 * `npm start` with no DATABASE_URL: the real entry point starts an embedded PostgreSQL under
 * DATA_DIR, migrates, serves, shuts down cleanly on SIGTERM (embedded database included), and
 * a second start reuses the same data and JWT secret.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signToken } from '../../server/auth/tokens.js';
import { relocatedClusterDir } from '../../server/db/cluster-dir.js';
import { canConnect, freePort } from '../support/servers.js';

const root = path.resolve(import.meta.dirname, '../..');

async function start(env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string }> {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 90_000;
  while (!out.includes('Headroom listening')) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => out };
}

async function stop(child: ChildProcess): Promise<number | null> {
  child.kill('SIGTERM');
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('zero-config start', () => {
  let dataDir = '';
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (dataDir) await rm(relocatedClusterDir(dataDir), { recursive: true, force: true });
  });

  it('starts embedded PostgreSQL, serves, stops cleanly, and restarts on the same data', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'headroom-zero-'));
    const port = await freePort();
    const pgPort = await freePort();
    const env = { DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(pgPort) };

    const tmpBefore = new Set(await readdir(os.tmpdir()));
    const first = await start(env);
    expect(first.output()).toMatch(/npm run token -- --role admin/);
    expect(first.output()).toMatch(/initialising embedded PostgreSQL/);
    // initdb's password file never sat in the shared temp folder.
    expect((await readdir(os.tmpdir())).filter((f) => f.startsWith('pg-password') && !tmpBefore.has(f))).toEqual([]);
    // mkdtemp made DATA_DIR 0700: as root, the cluster lives where the postgres user can reach it.
    if (process.getuid?.() === 0) expect(first.output()).toMatch(/DATA_DIR is not reachable by the postgres user/);
    const secret = (await readFile(path.join(dataDir, 'jwt-secret'), 'utf8')).trim();
    const token = signToken({ secret, issuer: 'headroom' }, { sub: 'zero', role: 'admin' });
    const base = `http://127.0.0.1:${port}`;
    const created = await fetch(`${base}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'zero', displayName: 'Zero', email: 'z@example.com' }),
    });
    expect(created.status).toBe(201);
    expect(await stop(first.child)).toBe(0);
    expect(first.output()).toMatch(/"msg":"stopped"/);
    expect(await canConnect('127.0.0.1', pgPort)).toBe(false); // the embedded database stopped too

    const second = await start(env);
    expect(second.output()).not.toMatch(/initialising embedded PostgreSQL/);
    const read = await fetch(`${base}/v1/tenants/zero`, { headers: { authorization: `Bearer ${token}` } });
    expect(read.status).toBe(200); // same data, same secret
    expect(await stop(second.child)).toBe(0);
  }, 180_000);

  it('refuses to start on a bad variable, naming it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/PORT/);
  });

  it('fails at once, in one line, when the port is taken, and starts nothing', async () => {
    const port = await freePort();
    const pgPort = await freePort();
    const holder = net.createServer().listen(port, '127.0.0.1');
    await new Promise((r) => holder.once('listening', r));
    const dir = await mkdtemp(path.join(os.tmpdir(), 'headroom-taken-'));
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', DATA_DIR: dir, PORT: String(port), EMBEDDED_PG_PORT: String(pgPort) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      const code = await new Promise((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(err.trim().split('\n')).toEqual([`Headroom failed to start: port ${port} is already in use (something answers on 127.0.0.1:${port}); stop it or set PORT`]);
      expect(await canConnect('127.0.0.1', pgPort)).toBe(false); // no database was started for nothing
    } finally {
      holder.close();
      await rm(dir, { recursive: true, force: true });
      await rm(relocatedClusterDir(dir), { recursive: true, force: true });
    }
  });

  it('stops, embedded database included, when the process that started it goes away', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'headroom-orphan-'));
    const port = await freePort();
    const pgPort = await freePort();
    // A wrapper that does not pass signals on, as npm does: it is killed, the server is orphaned.
    const wrapper = spawn('sh', ['-c', `${process.execPath} --import tsx server/main.ts; true`], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', DATA_DIR: dir, PORT: String(port), EMBEDDED_PG_PORT: String(pgPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    wrapper.stdout!.on('data', (d) => (out += d));
    try {
      for (let i = 0; i < 900 && !out.includes('Headroom listening'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toMatch(/Headroom listening/);
      wrapper.kill('SIGKILL');
      for (let i = 0; i < 100 && (await canConnect('127.0.0.1', port)); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await canConnect('127.0.0.1', port)).toBe(false);
      for (let i = 0; i < 100 && (await canConnect('127.0.0.1', pgPort)); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await canConnect('127.0.0.1', pgPort)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(relocatedClusterDir(dir), { recursive: true, force: true });
    }
  }, 120_000);
});
