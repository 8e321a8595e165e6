/**
 * Headroom's SeaweedFS side against a real `weed server` (test/support/real/weed.ts), driven only
 * through Headroom's HTTP API and its job trigger, and checked from the outside: buckets and
 * identities through S3/IAM with the admin key, freezes by what a real S3 PUT/GET/DELETE does and
 * what filer.conf holds, usage by what the master reports. Metadata is on the local engine.
 *
 * Usage accounting (what "matches" means below): a bucket is a collection, and Headroom's
 * logical bytes are Σ(Size − DeletedByteCount) over the collection's volumes in the master's
 * `/vol/status`. Size counts each object's needle (its data plus a header, checksum, timestamp and
 * padding to 8 bytes: 47–48 bytes for small objects on 4.53) and each volume's 8-byte superblock;
 * a delete adds the old needle's data to DeletedByteCount but appends a tombstone, leaving some
 * tens of bytes until vacuum. So for n live objects of total B bytes and d deletes:
 * B ≤ reading ≤ B + n·NEEDLE_OVERHEAD + d·DELETE_RESIDUE + volumes·8; objects = FileCount −
 * DeleteCount = n. The master learns sizes from the volume server's heartbeat, so a reading lags
 * writes by a few seconds: the test polls.
 */
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetUserPolicyCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { runJobOk } from '../support/jobs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAvailable } from '../support/pg.js';
import { toolsAvailable } from '../support/real/tools.js';
import { startWeed, type TestWeed, weedEnv, weedVersion } from '../support/real/weed.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** Upper bound of a needle's bytes beyond its data (header, checksum, timestamp, padding); 4.53 measured 47–48. */
const NEEDLE_OVERHEAD = 56;
/** What a deleted object leaves in Size − DeletedByteCount until vacuum: a tombstone needle plus part of the old header; 4.53 measured 68. */
const DELETE_RESIDUE = 80;
const SUPERBLOCK = 8;

type Keys = { accessKey: string; secretKey: string };

/** Polls `fn` until it returns a value other than undefined (or stops throwing), or fails after `ms`. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What a call fails with: the SDK error name and HTTP status, or 'ok'. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    return `${err.name} ${err.$metadata?.httpStatusCode}`;
  }
}

const runnable = toolsAvailable('weed');

describe.skipIf(!runnable || !pgAvailable())('object storage on a real SeaweedFS', () => {
  let weed: TestWeed;
  let t: TestApp;
  let admin: string;
  let iam: IAMClient;
  let adminS3: S3Client;
  const creds: Record<string, Keys> = {};
  const clients: S3Client[] = [];

  beforeAll(async () => {
    weed = await startWeed();
    console.info(`[real] SeaweedFS ${weedVersion()}`);
    t = await createTestApp({
      ...weedEnv(weed),
      STORAGE_GAP_FLOOR_BYTES: '1000000000',
    });
    admin = `Bearer ${t.token('admin', 'root')}`;
    const adminKeys = { accessKeyId: weed.accessKey, secretAccessKey: weed.secretKey };
    iam = new IAMClient({ endpoint: weed.s3Endpoint, region: 'us-east-1', credentials: adminKeys, maxAttempts: 1 });
    adminS3 = new S3Client({ endpoint: weed.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: adminKeys, maxAttempts: 1 });
    for (const id of ['acme', 'beta']) {
      await buildTenant(t.http, admin, { id, displayName: id, email: `${id}@example.com` });
    }
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) c.destroy();
    iam?.destroy();
    adminS3?.destroy();
    await t?.close();
    await weed?.stop();
  }, 60_000);

  const s3As = (k: Keys) => {
    const c = new S3Client({ endpoint: weed.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: k.accessKey, secretAccessKey: k.secretKey }, maxAttempts: 1 });
    clients.push(c);
    return c;
  };
  const create = async (tenant: string, name: string) => {
    const res = await request(t.http).post(`/v1/tenants/${tenant}/volumes`).set('authorization', admin).send({ name, quota: {} });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ state: 'active', storage: { kind: 's3', bucket: `jfs-${tenant}-${name}` } });
    return res.body as { id: string; credentials?: Keys };
  };
  const volumeId = async (bucket: string) => ((await t.database.db('volumes').where({ storage_bucket: bucket }).first()) as { id: string }).id;
  const filerConfText = async () => {
    const res = await fetch(`${weed.filerUrl}/etc/seaweedfs/filer.conf`);
    return res.status === 404 ? '' : res.text();
  };
  const filerConf = async () => {
    const text = await filerConfText();
    return (text ? JSON.parse(text) : { locations: [] }) as { version?: number; locations?: { locationPrefix: string; readOnly?: boolean }[] };
  };
  const ruleFor = async (prefix: string) => (await filerConf()).locations?.find((l) => l.locationPrefix === prefix);
  /** Triggers a job over HTTP (as an admin would) and waits for it to finish; returns its counts. */
  const runJob = async (job: string): Promise<Record<string, number>> => (await runJobOk(t.http, job, admin)).counts;
  const policyResources = async (user: string) => {
    const got = await iam.send(new GetUserPolicyCommand({ UserName: user, PolicyName: 'headroom-buckets' })).catch(() => undefined);
    if (!got?.PolicyDocument) return [];
    const doc = JSON.parse(decodeURIComponent(got.PolicyDocument)) as { Statement: { Resource: string | string[] }[] };
    return doc.Statement.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
  };

  it('onboarding creates the bucket and a tenant identity holding the returned key', async () => {
    const v = await create('acme', 'data');
    expect(v.credentials?.accessKey).toBeTruthy();
    creds.acme = v.credentials!;
    await adminS3.send(new HeadBucketCommand({ Bucket: 'jfs-acme-data' }));
    const keys = await iam.send(new ListAccessKeysCommand({ UserName: 'headroom-acme' }));
    expect(keys.AccessKeyMetadata?.map((k) => k.AccessKeyId)).toEqual([creds.acme.accessKey]);
    expect(await policyResources('headroom-acme')).toEqual(['arn:aws:s3:::jfs-acme-data', 'arn:aws:s3:::jfs-acme-data/*']);

    // A second volume of the same tenant reuses the identity (no new key) and widens its policy.
    const second = await create('acme', 'models');
    expect(second.credentials).toBeUndefined();
    expect((await iam.send(new ListAccessKeysCommand({ UserName: 'headroom-acme' }))).AccessKeyMetadata).toHaveLength(1);
    expect(await policyResources('headroom-acme')).toEqual(expect.arrayContaining(['arn:aws:s3:::jfs-acme-models/*', 'arn:aws:s3:::jfs-acme-data/*']));
    creds.beta = (await create('beta', 'data')).credentials!;
  });

  it("a tenant's key writes its own buckets only", async () => {
    const a = s3As(creds.acme!);
    const b = s3As(creds.beta!);
    // The gateway applies IAM changes at once on itself; poll briefly all the same.
    await eventually('acme key to write its bucket', async () => (await a.send(new PutObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/chunks/0/1_0_4', Body: 'x'.repeat(100) })), true));
    await a.send(new PutObjectCommand({ Bucket: 'jfs-acme-models', Key: 'acme-models/a', Body: 'm' }));
    const got = await a.send(new GetObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/chunks/0/1_0_4' }));
    expect(await got.Body!.transformToString()).toBe('x'.repeat(100));
    expect((await a.send(new ListObjectsV2Command({ Bucket: 'jfs-acme-data', Prefix: 'acme-data/' }))).KeyCount).toBe(1);

    expect(await outcome(a.send(new PutObjectCommand({ Bucket: 'jfs-beta-data', Key: 'beta-data/x', Body: 'no' })))).toBe('AccessDenied 403');
    expect(await outcome(a.send(new GetObjectCommand({ Bucket: 'jfs-beta-data', Key: 'beta-data/x' })))).toBe('AccessDenied 403');
    expect(await outcome(b.send(new PutObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/x', Body: 'no' })))).toBe('AccessDenied 403');
    expect(await outcome(a.send(new CreateBucketCommand({ Bucket: 'jfs-acme-extra' })))).toBe('AccessDenied 403');
    await eventually('beta key to write its bucket', async () => (await b.send(new PutObjectCommand({ Bucket: 'jfs-beta-data', Key: 'beta-data/x', Body: 'ok' })), true));
    const wrong = s3As({ accessKey: creds.acme!.accessKey, secretKey: 'not-the-secret-at-all-000000000000000' });
    expect(await outcome(wrong.send(new PutObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/y', Body: 'no' })))).toBe('SignatureDoesNotMatch 403');
  });

  it('an admin freeze writes a read-only rule that stops real PUTs (GET and DELETE still work); unfreeze lifts it', async () => {
    // Somebody else's rule must survive Headroom's edits, exactly as SeaweedFS's own writers
    // (`weed shell fs.configure`, the quota loop) leave it: version 2, every field, int64 as strings.
    const other = {
      locationPrefix: '/buckets/unrelated/',
      collection: '',
      replication: '000',
      ttl: '',
      diskType: '',
      volumeGrowthCount: 0,
      readOnly: false,
      dataCenter: '',
      rack: '',
      dataNode: '',
      maxFileNameLength: 0,
      disableChunkDeletion: false,
      wormGracePeriodSeconds: '0',
      wormRetentionTimeSeconds: '0',
    };
    const put = await fetch(`${weed.filerUrl}/etc/seaweedfs/filer.conf`, { method: 'PUT', body: JSON.stringify({ version: 2, locations: [other] }, null, 2) });
    expect(put.status).toBe(201);
    const id = await volumeId('jfs-acme-data');
    const prefix = '/buckets/jfs-acme-data/acme-data/';
    const a = s3As(creds.acme!);
    await a.send(new PutObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/chunks/0/2_0_4', Body: 'keep' }));

    const f = await request(t.http).post(`/v1/volumes/${id}/freeze`).set('authorization', admin).send({ reason: 'real storage test' });
    expect(f.status, JSON.stringify(f.body)).toBe(200);
    await eventually('the freeze rule in filer.conf', async () => ((await ruleFor(prefix))?.readOnly ? true : undefined));
    expect(await filerConf()).toMatchObject({ version: 2, locations: [other, { locationPrefix: prefix, readOnly: true }] });
    const newPut = () => a.send(new PutObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/chunks/new', Body: 'y' }));
    // Filers reload filer.conf on its change event: give it a moment.
    expect(
      await eventually('PUT to be refused', async () => {
        const o = await outcome(newPut());
        return o === 'ok' ? undefined : o;
      }),
    ).toBe('AccessDenied 403');
    await a.send(new DeleteObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/chunks/new' })).catch(() => undefined);
    expect(await (await a.send(new GetObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/chunks/0/2_0_4' }))).Body!.transformToString()).toBe('keep');
    await a.send(new DeleteObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/chunks/0/2_0_4' }));
    expect(await outcome(a.send(new GetObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/chunks/0/2_0_4' })))).toBe('NoSuchKey 404');
    // Outside the frozen prefix (another volume of the tenant) writes go on.
    await a.send(new PutObjectCommand({ Bucket: 'jfs-acme-models', Key: 'acme-models/b', Body: 'm' }));

    const u = await request(t.http).post(`/v1/volumes/${id}/unfreeze`).set('authorization', admin).send({ reason: 'done' });
    expect(u.status, JSON.stringify(u.body)).toBe(200);
    await eventually('the freeze rule to be gone', async () => ((await ruleFor(prefix)) ? undefined : true));
    expect(await filerConf()).toEqual({ version: 2, locations: [other] });
    expect(await eventually('PUT to be allowed again', async () => ((await outcome(newPut())) === 'ok' ? 'ok' : undefined))).toBe('ok');
  });

  it('a freeze rule removed from filer.conf by hand is restored by the next job pass', async () => {
    const id = await volumeId('jfs-acme-data');
    const prefix = '/buckets/jfs-acme-data/acme-data/';
    const a = s3As(creds.acme!);
    const newPut = () => outcome(a.send(new PutObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/chunks/again', Body: 'z' })));
    await request(t.http).post(`/v1/volumes/${id}/freeze`).set('authorization', admin).send({ reason: 'reconcile test' }).expect(200);
    await eventually('the freeze rule in filer.conf', async () => ((await ruleFor(prefix))?.readOnly ? true : undefined));

    // An admin rewrites filer.conf without our rule: writes get through again.
    const conf = await filerConf();
    const without = { ...conf, locations: (conf.locations ?? []).filter((l) => l.locationPrefix !== prefix) };
    expect((await fetch(`${weed.filerUrl}/etc/seaweedfs/filer.conf`, { method: 'PUT', body: JSON.stringify(without) })).ok).toBe(true);
    expect(await eventually('PUT to get through without the rule', async () => ((await newPut()) === 'ok' ? 'ok' : undefined))).toBe('ok');

    // Which job repairs it is Headroom's business (the reconcile job did; enforcement passes now
    // verify every layer each pass): trigger them in turn, as an admin could, until one has.
    let restoredBy: string | undefined;
    for (const job of ['reconcile', 'enforce', 'counters']) {
      await runJob(job);
      if ((await ruleFor(prefix))?.readOnly) {
        restoredBy = job;
        break;
      }
    }
    expect(restoredBy, 'no job put the rule back').toBeDefined();
    expect((await filerConf()).locations).toContainEqual(expect.objectContaining({ locationPrefix: '/buckets/unrelated/' }));
    expect(
      await eventually('PUT to be refused again', async () => {
        const o = await newPut();
        return o === 'ok' ? undefined : o;
      }),
    ).toBe('AccessDenied 403');

    await request(t.http).post(`/v1/volumes/${id}/unfreeze`).set('authorization', admin).send({ reason: 'done' }).expect(200);
    await eventually('the freeze rule to be gone', async () => ((await ruleFor(prefix)) ? undefined : true));
  });

  it('storage usage read from the master matches what was written', async () => {
    const v = await create('beta', 'usage');
    const b = s3As(creds.beta!);
    const sizes = [100_000, 250_000, 1_234];
    for (const [i, n] of sizes.entries()) {
      await b.send(new PutObjectCommand({ Bucket: 'jfs-beta-usage', Key: `beta-usage/chunks/0/${i}_0_${n}`, Body: Buffer.alloc(n, i + 1) }));
    }
    const written = sizes.reduce((x, y) => x + y, 0);
    const reading = async () => {
      await runJob('reconcile');
      const e = (await request(t.http).get(`/v1/volumes/${v.id}/enforcement`).set('authorization', admin)).body as { storageUsage: { bytes: number; objects: number } | null };
      return e.storageUsage;
    };
    // Sizes reach the master with the volume server's next heartbeat.
    const u = await eventually(
      'usage of the written objects',
      async () => {
        const r = await reading();
        return r && r.bytes >= written ? r : undefined;
      },
      45_000,
    );
    const volumes = await collectionVolumes('jfs-beta-usage');
    expect(u.objects).toBe(sizes.length);
    expect(u.bytes).toBeGreaterThanOrEqual(written);
    expect(u.bytes).toBeLessThanOrEqual(written + sizes.length * NEEDLE_OVERHEAD + volumes * SUPERBLOCK);

    // A delete turns the object's bytes into garbage, which the logical reading leaves out.
    await b.send(new DeleteObjectCommand({ Bucket: 'jfs-beta-usage', Key: 'beta-usage/chunks/0/1_0_250000' }));
    const after = await eventually(
      'usage after a delete',
      async () => {
        const r = await reading();
        return r && r.bytes < written - 200_000 ? r : undefined;
      },
      45_000,
    );
    expect(after.bytes).toBeGreaterThanOrEqual(written - 250_000);
    expect(after.bytes).toBeLessThanOrEqual(written - 250_000 + 2 * NEEDLE_OVERHEAD + DELETE_RESIDUE + volumes * SUPERBLOCK);
    expect(after.objects).toBe(2);
  });

  it('purge deletes the (non-empty) bucket and takes it out of the identity', async () => {
    const v = await create('acme', 'gone');
    const a = s3As(creds.acme!);
    await eventually('acme key to write the new bucket', async () => (await a.send(new PutObjectCommand({ Bucket: 'jfs-acme-gone', Key: 'acme-gone/chunks/0/1_0_3', Body: 'bye' })), true));
    await request(t.http).delete(`/v1/volumes/${v.id}`).set('authorization', admin).expect(200);
    const p = await request(t.http).post(`/v1/volumes/${v.id}/purge`).set('authorization', admin).send({ confirm: 'gone' });
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body.state).toBe('purged');
    expect(await outcome(adminS3.send(new HeadBucketCommand({ Bucket: 'jfs-acme-gone' })))).toBe('NotFound 404');
    expect((await policyResources('headroom-acme')).join()).not.toContain('jfs-acme-gone');
    await eventually('the collection to leave the master', async () => ((await collectionVolumes('jfs-acme-gone')) === 0 ? true : undefined));
    // The tenant's other buckets are untouched.
    await adminS3.send(new HeadBucketCommand({ Bucket: 'jfs-acme-data' }));
    await a.send(new PutObjectCommand({ Bucket: 'jfs-acme-models', Key: 'acme-models/c', Body: 'still here' }));
  });

  /** Distinct volume ids of a collection in the master's `/vol/status`. */
  async function collectionVolumes(collection: string): Promise<number> {
    const body = (await (await fetch(`${weed.masterUrl}/vol/status`)).json()) as {
      Volumes?: { DataCenters?: Record<string, Record<string, Record<string, { Id: number; Collection: string }[] | null>>> };
    };
    const ids = new Set<number>();
    for (const racks of Object.values(body.Volumes?.DataCenters ?? {}))
      for (const nodes of Object.values(racks ?? {})) for (const vols of Object.values(nodes ?? {})) for (const x of vols ?? []) if (x.Collection === collection) ids.add(x.Id);
    return ids.size;
  }
});
