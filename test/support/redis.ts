/** Real Redis for tests: 127.0.0.1:6379 (or TEST_REDIS_URL); skip locally, fail under CI. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { canConnect, freePort, requireServer } from './servers.js';

/** The Redis URL tests use. */
export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether Redis is reachable (throws under CI when it is not). */
export async function redisAvailable(): Promise<boolean> {
  const u = new URL(redisUrl);
  return requireServer('Redis', await canConnect(u.hostname, Number(u.port || 6379)));
}

/** A client on its own database number, so parallel test files do not collide. */
export function redisClient(db: number): Redis {
  return new Redis(redisUrl, { db, lazyConnect: false, maxRetriesPerRequest: 2 });
}

/** A private redis-server for suites that need many databases (the shared one has 16). */
export interface TestRedisServer {
  url: string;
  port: number;
  /** Stops (SIGSTOP) or resumes (SIGCONT) the server: a hung dependency, not a dead one. */
  pause(paused: boolean): void;
  client(db: number): Redis;
  stop(): Promise<void>;
}

/** Whether a redis-server binary is installed (throws under CI when it is not). */
export function redisServerAvailable(): boolean {
  const found = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].some((p) => existsSync(p));
  return requireServer('redis-server binary', found);
}

/** Starts redis-server on a free loopback port with `databases` databases, nothing on disk. */
export async function startRedisServer(databases = 64, password?: string): Promise<TestRedisServer> {
  const port = await freePort();
  const bin = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p))!;
  const child: ChildProcess = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--databases', String(databases), ...(password ? ['--requirepass', password] : [])],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  while (!(await canConnect('127.0.0.1', port, 200))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('redis-server did not start in 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const clients: Redis[] = [];
  return {
    url: password ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`,
    port,
    pause: (paused) => void child.kill(paused ? 'SIGSTOP' : 'SIGCONT'),
    client: (db) => {
      const c = new Redis({ host: '127.0.0.1', port, db, password, maxRetriesPerRequest: 2 });
      clients.push(c);
      return c;
    },
    stop: async () => {
      await Promise.allSettled(clients.map((c) => c.quit()));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGCONT'); // a paused server cannot act on SIGTERM
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    },
  };
}
