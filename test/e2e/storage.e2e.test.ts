/**
 * The SeaweedFS side of volumes against the in-process fake SeaweedFS (S3 + IAM on one port,
 * filer, master; SigV4 checked, action strings and read-only rules enforced as the notes
 * describe): onboarding creates bucket, identity and a consistent JuiceFS setting; keys reach only
 * their tenant's buckets; freeze rules coexist with other filer.conf rules and are re-applied;
 * crashes and failures leave a complete volume or nothing; secrets appear once.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { PutObjectCommand, DeleteObjectCommand, CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { parseMetaUrl } from '../../server/meta/meta-url.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { decryptSecret } from '../../server/meta/tkv/secrets.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import type { StorageOnboarding } from '../../server/storage/storage-onboarding.js';
import type { MetadataProvisioner } from '../../server/volumes/metadata-provisioner.js';
import type { Volume } from '../../server/volumes/volume.js';
import { pgAvailable } from '../support/pg.js';
import { type FakeSeaweed, fakeSeaweedEnv, startFakeSeaweed } from '../support/seaweedfs-fake/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** Provisions through the real onboarding, except that the first call "dies" after `step`. */
class CrashOnce implements MetadataProvisioner {
  real!: StorageOnboarding;
  crashAfter: 'none' | 'bucket' | 'identity' | 'format' = 'none';
  async provision(v: Volume) {
    const step = this.crashAfter;
    if (step === 'none') return this.real.provision(v);
    this.crashAfter = 'none';
    await this.real.bucket(v);
    if (step !== 'bucket') await this.real.identity(v);
    if (step === 'format') await this.real.provision(v);
    return new Promise<never>(() => {}); // the process died here: nothing after this step runs
  }
  rollback(v: Volume) {
    return this.real.rollback(v);
  }
}

describe.skipIf(!pgAvailable())('object storage on SeaweedFS (fake)', () => {
  let t: TestApp;
  let sw: FakeSeaweed;
  let store: LocalEngine;
  let admin: string;
  const logs: string[] = [];
  const crash = new CrashOnce();

  beforeAll(async () => {
    sw = await startFakeSeaweed();
    const log = pino({ level: 'debug' }, new Writable({ write: (chunk, _e, cb) => (logs.push(String(chunk)), cb()) }));
    t = await createTestApp(
      {
        ...fakeSeaweedEnv(sw),
        STORAGE_GAP_FLOOR_BYTES: '1000000',
      },
      crash,
      { log },
    );
    crash.real = t.services.onboarding!;
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
    admin = `Bearer ${t.token('admin', 'root')}`;
    for (const id of ['acme', 'beta']) {
      await buildTenant(t.http, admin, { id, displayName: id, email: `${id}@example.com` });
    }
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
    await sw?.close();
  });

  const create = (tenant: string, name: string, quota: object = {}) => request(t.http).post(`/v1/tenants/${tenant}/volumes`).set('authorization', admin).send({ name, quota });
  const s3As = (keys: { accessKey: string; secretKey: string }) =>
    new S3Client({ endpoint: sw.s3Url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: keys.accessKey, secretAccessKey: keys.secretKey }, maxAttempts: 1 });
  const creds: Record<string, { accessKey: string; secretKey: string }> = {};
  const filerConf = async () => (await (await fetch(`${sw.filerUrl}/etc/seaweedfs/filer.conf`)).json()) as { locations: unknown[] };

  it('onboarding creates the bucket, the tenant identity and a setting that points JuiceFS at them', async () => {
    const res = await create('acme', 'data');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ state: 'active', storage: { kind: 's3', bucket: 'jfs-acme-data' } });
    expect(res.body.credentials.secretKey).toMatch(/^[\w-]{40}$/);
    creds.acme = res.body.credentials;
    expect(sw.buckets()).toContain('jfs-acme-data');
    const id = sw.identities().find((i) => i.name === 'headroom-acme')!;
    expect(id.accessKeys).toEqual([creds.acme!.accessKey]);
    expect(id.actions.sort()).toEqual(['List:jfs-acme-data', 'Read:jfs-acme-data', 'Write:jfs-acme-data']);

    const s = await new TkvVolume(store, parseMetaUrl(res.body.metaUrl).prefix).readSetting();
    expect(s).toMatchObject({ storage: 's3', bucket: `${sw.s3Url}/jfs-acme-data` });
    const raw = JSON.parse(Buffer.from((await store.get(new TkvVolume(store, parseMetaUrl(res.body.metaUrl).prefix).keys.setting()))!).toString());
    expect(raw).toMatchObject({ AccessKey: creds.acme!.accessKey, KeyEncrypted: true });
    expect(decryptSecret(raw.UUID, raw.SecretKey)).toBe(creds.acme!.secretKey);

    // A second volume reuses the identity (no new secret) and widens its policy to both buckets.
    const second = await create('acme', 'models');
    expect(second.status).toBe(201);
    expect(second.body.credentials).toBeUndefined();
    expect(
      sw
        .identities()
        .find((i) => i.name === 'headroom-acme')!
        .actions.sort(),
    ).toEqual(['List:jfs-acme-data', 'List:jfs-acme-models', 'Read:jfs-acme-data', 'Read:jfs-acme-models', 'Write:jfs-acme-data', 'Write:jfs-acme-models']);
    const beta = await create('beta', 'data');
    creds.beta = beta.body.credentials;
  });

  it("a tenant's keys reach its own buckets only", async () => {
    const a = s3As(creds.acme!);
    await a.send(new PutObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/chunks/0/1_0_4', Body: 'x'.repeat(100) }));
    await expect(a.send(new PutObjectCommand({ Bucket: 'jfs-beta-data', Key: 'beta-data/x', Body: 'no' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(a.send(new CreateBucketCommand({ Bucket: 'jfs-acme-extra' }))).rejects.toMatchObject({ name: 'AccessDenied' });
    const wrong = s3As({ accessKey: creds.acme!.accessKey, secretKey: 'not-the-secret-at-all-000000000000000' });
    await expect(wrong.send(new PutObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/y', Body: 'no' }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
  });

  it('freezes writes at both layers, keeping other filer.conf rules, and the next pass re-applies a lost rule', async () => {
    const other = {
      version: 1,
      locations: [
        { locationPrefix: '/buckets/other/', replication: '001' },
        { locationPrefix: '/buckets/jfs-acme-data/', readOnly: false, ttl: '' },
      ],
    };
    await fetch(`${sw.filerUrl}/etc/seaweedfs/filer.conf`, { method: 'PUT', body: JSON.stringify(other) });
    const vol = (await t.database.db('volumes').where({ storage_bucket: 'jfs-acme-data' }).first()) as { id: string };
    const f = await request(t.http).post(`/v1/volumes/${vol.id}/freeze`).set('authorization', admin).send({ reason: 'storage test' });
    expect(f.status).toBe(200);
    expect(f.body.layers).toEqual({ metadata: true, storage: true });
    const conf = await filerConf();
    expect(conf.locations).toEqual([...other.locations, { locationPrefix: '/buckets/jfs-acme-data/acme-data/', readOnly: true }]);
    const a = s3As(creds.acme!);
    await expect(a.send(new PutObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/chunks/new', Body: 'y' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    await a.send(new DeleteObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/chunks/0/1_0_4' })); // deletes still work

    // Someone rewrites filer.conf without our rule: the next pass puts it back, others untouched.
    await fetch(`${sw.filerUrl}/etc/seaweedfs/filer.conf`, { method: 'PUT', body: JSON.stringify(other) });
    const r = await t.services.enforcement.countersPass();
    expect(r.drifts).toBe(1);
    const again = await filerConf();
    expect(again.locations).toEqual([...other.locations, { locationPrefix: '/buckets/jfs-acme-data/acme-data/', readOnly: true }]);
    const res = await request(t.http).get(`/v1/volumes/${vol.id}/enforcement`).set('authorization', admin);
    expect(res.body.layerStatus.storage).toMatchObject({ desired: { frozen: true }, observed: { frozen: true }, inSync: true, drifts: 1 });

    const u = await request(t.http).post(`/v1/volumes/${vol.id}/unfreeze`).set('authorization', admin).send({ reason: 'done' });
    expect(u.body.layers).toEqual({ metadata: false, storage: false });
    const after = await filerConf();
    expect(after.locations).toEqual(other.locations);
    await a.send(new PutObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/chunks/new', Body: 'y' }));
  });

  it('policy freezes (hard limit) reach the storage layer too', async () => {
    const res = await create('acme', 'capped', { hardBytes: 1_000_000 });
    const fx = new FixtureBuilder(store, new TkvVolume(store, parseMetaUrl(res.body.metaUrl).prefix).keys);
    await fx.file(ROOT_INODE, 'big', 2_000_000);
    await fx.finish();
    await t.services.enforcement.countersPass();
    const e = (await request(t.http).get(`/v1/volumes/${res.body.id}/enforcement`).set('authorization', admin)).body;
    expect(e).toMatchObject({ state: 'frozen', layers: { metadata: true, storage: true } });
    const conf = await filerConf();
    expect(conf.locations).toContainEqual({ locationPrefix: '/buckets/jfs-acme-capped/acme-capped/', readOnly: true });
  });

  it.each(['bucket', 'identity', 'format'] as const)('a crash after the %s step is finished by the reconciler', async (step) => {
    crash.crashAfter = step;
    void create('acme', `crash-${step}`).then(
      () => undefined,
      () => undefined,
    ); // never answers: the server "died"
    let v: Volume | undefined;
    for (let i = 0; i < 100 && !v; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const row = (await t.database
        .db('volumes')
        .where({ name: `crash-${step}` })
        .first()) as { id: string } | undefined;
      if (row && sw.buckets().includes(`jfs-acme-crash-${step}`)) v = await t.services.volumes.get({ sub: 'root', role: 'admin', tenants: [] }, row.id);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(v!.state).toBe('provisioning');
    const r = await t.services.reconciler.run({ stuckAfterMs: 0 });
    expect(r.finished).toBe(1);
    const done = await t.services.volumes.get({ sub: 'root', role: 'admin', tenants: [] }, v!.id);
    expect(done.state).toBe('active');
    const s = await new TkvVolume(store, parseMetaUrl(done.metaUrl).prefix).readSetting();
    expect(s.bucket).toBe(`${sw.s3Url}/jfs-acme-crash-${step}`);
    expect(sw.identities().find((i) => i.name === 'headroom-acme')!.actions).toContain(`Write:jfs-acme-crash-${step}`);
  });

  it('a provisioning that fails is rolled back: no bucket, no grant, a failed volume', async () => {
    // Someone else's keys already under the prefix: JuiceFS format refuses, so onboarding fails.
    const prefix = 'acme-taken';
    const tv = new TkvVolume(store, Buffer.from(prefix));
    await store.txn(async (x) => x.put(tv.keys.counter('usedSpace'), Buffer.alloc(8)));
    const res = await create('acme', 'taken');
    expect(res.body.state).toBe('failed');
    expect(res.body.stateDetail).toMatch(/provisioning failed/);
    expect(sw.buckets()).not.toContain('jfs-acme-taken');
    expect(
      sw
        .identities()
        .find((i) => i.name === 'headroom-acme')!
        .actions.join(),
    ).not.toContain('jfs-acme-taken');
  });

  it('compares storage with metadata usage and tells admins about a gap', async () => {
    const res = await create('beta', 'leaky');
    const b = s3As(creds.beta!);
    await b.send(new PutObjectCommand({ Bucket: 'jfs-beta-leaky', Key: 'beta-leaky/chunks/0/9_0_4', Body: Buffer.alloc(3_000_000) }));
    sw.setReplicas('jfs-beta-leaky', 2); // a replica on a second node is not more data
    await t.services.enforcement.countersPass(); // metadata: an empty volume
    const r = await t.services.reconciler.run();
    expect(r.gaps).toBeGreaterThanOrEqual(1);
    const e = (await request(t.http).get(`/v1/volumes/${res.body.id}/enforcement`).set('authorization', admin)).body;
    expect(e.storageUsage).toMatchObject({ bytes: 3_000_000, objects: 1, gapBytes: 3_000_000 });
    const n = (await request(t.http).get(`/v1/notifications?type=admin.storage_gap&volumeId=${res.body.id}`).set('authorization', admin)).body.items;
    expect(n).toHaveLength(1);
    expect(n[0].data.detail).toMatch(/objects without metadata/);
  });

  it('purging a deleted volume revokes and deletes its bucket, and drops its freeze rule', async () => {
    const res = await create('acme', 'gone');
    await request(t.http).post(`/v1/volumes/${res.body.id}/freeze`).set('authorization', admin).send({ reason: 'before delete' }).expect(200);
    expect((await filerConf()).locations).toContainEqual({ locationPrefix: '/buckets/jfs-acme-gone/acme-gone/', readOnly: true });
    await request(t.http).delete(`/v1/volumes/${res.body.id}`).set('authorization', admin).expect(200);
    const p = await request(t.http).post(`/v1/volumes/${res.body.id}/purge`).set('authorization', admin).send({ confirm: 'gone' });
    expect(p.body.state).toBe('purged');
    expect(sw.buckets()).not.toContain('jfs-acme-gone');
    expect(
      sw
        .identities()
        .find((i) => i.name === 'headroom-acme')!
        .actions.join(),
    ).not.toContain('jfs-acme-gone');
    expect((await filerConf()).locations).not.toContainEqual({ locationPrefix: '/buckets/jfs-acme-gone/acme-gone/', readOnly: true });
    expect(sw.buckets()).toContain('jfs-acme-data'); // the tenant's other volumes are untouched
  });

  it('never shows or logs a secret key after the create that made it', async () => {
    const everything = JSON.stringify([
      (await request(t.http).get('/v1/volumes').set('authorization', admin)).body,
      (await request(t.http).get('/v1/audit?limit=500').set('authorization', admin)).body,
      (await request(t.http).get('/v1/notifications?limit=500').set('authorization', admin)).body,
      await t.database.db('storage_identities').select('*'),
      await t.database.db('idempotency_keys').select('*'),
      logs.join(''),
    ]);
    for (const c of Object.values(creds)) expect(everything).not.toContain(c.secretKey);
    expect(logs.length).toBeGreaterThan(0);
  });
});
