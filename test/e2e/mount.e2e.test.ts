/**
 * `GET /v1/volumes/{id}/mount`: the juicefs command, fstab line and CSI manifests for each engine
 * and storage. Storage keys reach only admins and the tenant's engineers; a Redis password never
 * leaves the server (JuiceFS takes it from META_PASSWORD, checked with the real juicefs when built).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import { redisServerAvailable, startRedisServer, type TestRedisServer } from '../support/redis.js';
import { toolPath } from '../support/real/tools.js';
import { type FakeSeaweed, fakeSeaweedEnv, startFakeSeaweed } from '../support/seaweedfs-fake/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const run = promisify(execFile);

describe.skipIf(!pgAvailable())('mount instructions', () => {
  describe('on SeaweedFS (fake)', () => {
    let t: TestApp;
    let sw: FakeSeaweed;
    let admin: string;
    let vol: { id: string; metaUrl: string } & Record<string, unknown>;
    let keys: { accessKey: string; secretKey: string };

    beforeAll(async () => {
      sw = await startFakeSeaweed();
      t = await createTestApp(fakeSeaweedEnv(sw));
      admin = `Bearer ${t.token('admin', 'root')}`;
      await buildTenant(t.http, admin, { id: 'acme' });
      await buildTenant(t.http, admin, { id: 'beta' });
      vol = await buildVolume(t.http, admin, 'acme', { name: 'data', quota: { hardBytes: 5_000_000_000 } });
      keys = vol.credentials as typeof keys;
    });
    afterAll(async () => {
      await t?.close();
      await sw?.close();
    });

    const mount = (auth: string) => request(t.http).get(`/v1/volumes/${vol.id}/mount`).set('authorization', auth);

    it('gives the owner and admins the real keys, with no-store', async () => {
      for (const auth of [admin, `Bearer ${t.token('engineer', 'eve', ['acme'])}`]) {
        const res = await mount(auth);
        expect(res.status).toBe(200);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.body).toMatchObject({
          volumeId: vol.id,
          engine: 'local',
          juicefsName: 'acme-data',
          secretsIncluded: true,
          storage: { kind: 's3', bucket: `${sw.s3Url}/jfs-acme-data`, accessKey: keys.accessKey, secretKey: keys.secretKey },
          environment: [],
        });
        expect(res.body.command).toBe(`juicefs mount --background '${vol.metaUrl}' /mnt/jfs/data`);
        expect(res.body.fstab).toBe(`${vol.metaUrl} /mnt/jfs/data juicefs _netdev 0 0`);
        const secret = parse(res.body.kubernetes.secret);
        expect(secret).toMatchObject({ kind: 'Secret', stringData: { name: 'acme-data', metaurl: vol.metaUrl, storage: 's3', 'access-key': keys.accessKey, 'secret-key': keys.secretKey } });
        const pv = parse(res.body.kubernetes.persistentVolume);
        expect(pv).toMatchObject({ kind: 'PersistentVolume', spec: { capacity: { storage: '5000000000' }, csi: { driver: 'csi.juicefs.com', nodePublishSecretRef: { name: secret.metadata.name } } } });
        const pvc = parse(res.body.kubernetes.persistentVolumeClaim);
        expect(pvc).toMatchObject({ kind: 'PersistentVolumeClaim', spec: { storageClassName: '', selector: { matchLabels: { 'juicefs-name': 'acme-data' } } } });
      }
    });

    it('gives the platform role placeholders, and other tenants nothing', async () => {
      const res = await mount(`Bearer ${t.token('platform', 'ops')}`);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).not.toContain('no-store');
      expect(res.body).toMatchObject({ secretsIncluded: false, storage: { accessKey: '<ACCESS_KEY>', secretKey: '<SECRET_KEY>' } });
      expect(JSON.stringify(res.body)).not.toContain(keys.secretKey);
      expect(JSON.stringify(res.body)).not.toContain(keys.accessKey);
      expect(parse(res.body.kubernetes.secret).stringData).toMatchObject({ 'access-key': '<ACCESS_KEY>', 'secret-key': '<SECRET_KEY>' });

      const other = await mount(`Bearer ${t.token('engineer', 'mallory', ['beta'])}`);
      expect(other.status).toBe(404);
      expect(other.body.code).toBe('volume_not_found');
      expect((await request(t.http).get(`/v1/volumes/${vol.id}/mount`)).status).toBe(401);
    });
  });

  describe('on local file storage', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp();
    });
    afterAll(async () => {
      await t?.close();
    });

    it('uses the file bucket and says the local engine cannot be mounted', async () => {
      const admin = `Bearer ${t.token('admin', 'root')}`;
      await buildTenant(t.http, admin, { id: 'acme' });
      const vol = await buildVolume(t.http, admin, 'acme', { name: 'scratch' });
      const res = await request(t.http).get(`/v1/volumes/${vol.id}/mount`).set('authorization', admin);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ secretsIncluded: false, storage: { kind: 'file', bucket: `${t.config.meta.objectsDir}/`, accessKey: '', secretKey: '' } });
      expect(res.body.command).toBe(`juicefs mount --background '${vol.metaUrl}' /mnt/jfs/scratch`);
      expect(res.body.notes.join(' ')).toMatch(/not a JuiceFS scheme/);
      const secret = parse(res.body.kubernetes.secret);
      expect(secret.stringData).toEqual({ name: 'acme-scratch', metaurl: vol.metaUrl, storage: 'file', bucket: `${t.config.meta.objectsDir}/` });
      // The PV of a volume without a hard limit still needs a capacity.
      expect(parse(res.body.kubernetes.persistentVolume).spec.capacity.storage).toBe('1Pi');
    });
  });

  describe.skipIf(!redisServerAvailable())('on Redis', () => {
    const PASSWORD = 'mount-test-redis-pass';
    let t: TestApp;
    let server: TestRedisServer;
    beforeAll(async () => {
      server = await startRedisServer(8, PASSWORD);
      t = await createTestApp({ REDIS_META_URL: server.url, REDIS_META_DBS: '2-3' });
    });
    afterAll(async () => {
      await t?.close();
      await server?.stop();
    });

    it('never shows the password: META_PASSWORD stands in for it', async () => {
      const admin = `Bearer ${t.token('admin', 'root')}`;
      await buildTenant(t.http, admin, { id: 'acme' });
      const vol = await buildVolume(t.http, admin, 'acme', { name: 'cache', engine: 'redis' });
      const res = await request(t.http).get(`/v1/volumes/${vol.id}/mount`).set('authorization', admin);
      expect(res.status).toBe(200);
      expect(JSON.stringify(res.body)).not.toContain(PASSWORD);
      const url = `redis://127.0.0.1:${server.port}/2`;
      expect(res.body).toMatchObject({ engine: 'redis', metaUrl: url, environment: [{ name: 'META_PASSWORD', value: '<META_PASSWORD>' }] });
      expect(res.body.command).toBe(`META_PASSWORD='<META_PASSWORD>' juicefs mount --background ${url} /mnt/jfs/cache`);
      const secret = parse(res.body.kubernetes.secret);
      expect(secret.stringData).toMatchObject({ metaurl: url, envs: JSON.stringify({ META_PASSWORD: '<META_PASSWORD>' }) });

      // The real juicefs opens the volume from exactly this URL with the password in META_PASSWORD.
      const juicefs = toolPath('juicefs-1.4');
      if (!juicefs) return;
      const { stdout } = await run(juicefs, ['status', res.body.metaUrl], { env: { ...process.env, META_PASSWORD: PASSWORD }, timeout: 30_000 });
      expect(JSON.parse(stdout.slice(stdout.indexOf('{'))).Setting).toMatchObject({ Name: 'acme-cache' });
    });
  });
});
