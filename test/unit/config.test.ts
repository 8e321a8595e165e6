import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, envSchema, loadConfig } from '../../server/config.js';

describe('loadConfig', () => {
  it('gives zero-config defaults', () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(8080);
    expect(c.database.url).toBeUndefined();
    expect(c.dataDir).toBe(path.resolve('data'));
    expect(c.meta.defaultEngine).toBe('local');
    expect(c.meta.localPath).toBe(path.resolve('data/meta.db'));
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.meta)).toBe(true);
  });

  it('parses lists and numbers', () => {
    const c = loadConfig({ PORT: '9000', TIKV_PD_ENDPOINTS: 'pd1:2379, pd2:2379', META_ENGINE: 'tikv' });
    expect(c.http.port).toBe(9000);
    expect(c.meta.tikvPdEndpoints).toEqual(['pd1:2379', 'pd2:2379']);
  });

  it('rejects bad values naming every variable at once', () => {
    try {
      loadConfig({ PORT: 'eighty', JWT_SECRET: 'short', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/PORT/);
      expect(msg).toMatch(/JWT_SECRET/);
      expect(msg).toMatch(/LOG_LEVEL/);
    }
  });

  it('requires endpoints for a non-local default engine', () => {
    expect(() => loadConfig({ META_ENGINE: 'etcd' })).toThrow(/ETCD_ENDPOINTS/);
  });

  it('parses the Redis database pool', () => {
    expect(loadConfig({ REDIS_META_DBS: '3-5,9,4' }).meta.redisDbs).toEqual([3, 4, 5, 9]);
    expect(loadConfig({}).meta.redisDbs).toHaveLength(15);
    expect(() => loadConfig({ REDIS_META_DBS: 'all' })).toThrow(/REDIS_META_DBS/);
    expect(() => loadConfig({ META_ENGINE: 'redis' })).toThrow(/REDIS_META_URL/);
  });

  it('refuses cron schedules that would never run, naming the variable', () => {
    expect(() => loadConfig({ SCAN_COUNTERS_CRON: 'every five minutes' })).toThrow(/SCAN_COUNTERS_CRON: is not a valid cron expression/);
    expect(loadConfig({ ENFORCE_CRON: '*/10 * * * *' }).jobs.enforceCron).toBe('*/10 * * * *');
  });

  it('documents every variable in the README', () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const missing = Object.keys(envSchema.shape).filter((k) => !readme.includes(`\`${k}\``));
    expect(missing).toEqual([]);
  });
});
