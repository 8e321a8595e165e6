/**
 * Storage key rotation against a real `weed server` (test/support/real/weed.ts): the rotated key
 * and the previous one both work through the overlap (real S3 PUTs, SigV4 checked by SeaweedFS),
 * IAM lists both, and after the overlap the reconcile job revokes the previous key, which
 * SeaweedFS then refuses. Credentials propagate from the IAM API to the S3 gateway
 * asynchronously, so each outside check polls.
 */
import { IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { runJobOk } from '../support/jobs.js';
import { pgAvailable } from '../support/pg.js';
import { toolsAvailable } from '../support/real/tools.js';
import { startWeed, type TestWeed, weedEnv, weedVersion } from '../support/real/weed.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

type Keys = { accessKey: string; secretKey: string };
const OVERLAP_S = 3;

/** Polls `check` until it returns true, or fails after `ms` with `what`. */
async function eventually(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; ;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(!toolsAvailable('weed') || !pgAvailable())('storage key rotation on a real SeaweedFS', () => {
  let weed: TestWeed;
  let t: TestApp;
  let admin: string;
  let iam: IAMClient;
  const clients: S3Client[] = [];

  beforeAll(async () => {
    weed = await startWeed();
    console.info(`[real] SeaweedFS ${weedVersion()}`);
    t = await createTestApp({
      ...weedEnv(weed),
      STORAGE_GAP_FLOOR_BYTES: '1000000000',
      STORAGE_KEY_OVERLAP_SECONDS: String(OVERLAP_S),
    });
    admin = `Bearer ${t.token('admin', 'root')}`;
    iam = new IAMClient({ endpoint: weed.s3Endpoint, region: 'us-east-1', credentials: { accessKeyId: weed.accessKey, secretAccessKey: weed.secretKey }, maxAttempts: 1 });
    await buildTenant(t.http, admin, { id: 'acme' });
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) c.destroy();
    iam?.destroy();
    await t?.close();
    await weed?.stop();
  }, 60_000);

  const works = async (k: Keys) => {
    const c = new S3Client({ endpoint: weed.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: k.accessKey, secretAccessKey: k.secretKey }, maxAttempts: 1 });
    clients.push(c);
    try {
      await c.send(new PutObjectCommand({ Bucket: 'jfs-acme-data', Key: 'acme-data/probe', Body: 'x' }));
      return true;
    } catch {
      return false;
    }
  };
  const listed = async () => ((await iam.send(new ListAccessKeysCommand({ UserName: 'headroom-acme' }))).AccessKeyMetadata ?? []).map((k) => k.AccessKeyId).sort();

  it('keeps both keys through the overlap, then the reconcile job revokes the previous one', async () => {
    const created = await request(t.http).post('/v1/tenants/acme/volumes').set('authorization', admin).send({ name: 'data', quota: {} });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const first = created.body.credentials as Keys;
    await eventually('the first key works', () => works(first));

    const res = await request(t.http).post('/v1/tenants/acme/storage-credentials/rotate').set('authorization', admin);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const next: Keys = { accessKey: res.body.accessKey, secretKey: res.body.secretKey };
    expect(await listed()).toEqual([first.accessKey, next.accessKey].sort());
    await eventually('the new key works', () => works(next));
    expect(await works(first)).toBe(true);

    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(res.body.previousValidUntil) - Date.now() + 100)));
    const { counts } = await runJobOk(t.http, 'reconcile', admin);
    expect(counts).toMatchObject({ keysRevoked: 1 });
    expect(await listed()).toEqual([next.accessKey]);
    await eventually('the previous key is refused', async () => !(await works(first)));
    expect(await works(next)).toBe(true);
  }, 120_000);
});
