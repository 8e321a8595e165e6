/**
 * Storage key rotation against the in-process fake SeaweedFS (SigV4 checked, so a revoked key is
 * refused for real): the new secret is shown once with no-store, the previous key works through
 * the overlap and is revoked by the first reconcile pass after it; a rotation SeaweedFS did not
 * take is a 503 that leaves the previous key working and is finished by the reconciler; roles.
 * And `npm run rekey`: every sealed secret re-sealed under a new master key, old formats included.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuedAtOf } from '../../server/storage/storage-credentials.js';
import { SecretBox } from '../../server/storage/secret-box.js';
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import { type FakeSeaweed, fakeSeaweedEnv, startFakeSeaweed } from '../support/seaweedfs-fake/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

type Keys = { accessKey: string; secretKey: string };
const OVERLAP_S = 2;

describe.skipIf(!pgAvailable())('storage key rotation (fake SeaweedFS)', () => {
  let t: TestApp;
  let sw: FakeSeaweed;
  let admin: string;
  const logs: string[] = [];
  beforeAll(async () => {
    sw = await startFakeSeaweed();
    const log = pino({ level: 'debug' }, new Writable({ write: (chunk, _e, cb) => (logs.push(String(chunk)), cb()) }));
    t = await createTestApp(
      {
        ...fakeSeaweedEnv(sw),
        STORAGE_KEY_OVERLAP_SECONDS: String(OVERLAP_S),
      },
      undefined,
      { log },
    );
    admin = `Bearer ${t.token('admin', 'root')}`;
    for (const id of ['acme', 'beta', 'gamma']) await buildTenant(t.http, admin, { id });
  });
  afterAll(async () => {
    await t?.close();
    await sw?.close();
  });

  const s3As = (k: Keys) => new S3Client({ endpoint: sw.s3Url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: k.accessKey, secretAccessKey: k.secretKey }, maxAttempts: 1 });
  const put = (k: Keys, bucket: string) => s3As(k).send(new PutObjectCommand({ Bucket: bucket, Key: 'probe', Body: 'x' }));
  const rotate = (tenant: string, auth = admin) => request(t.http).post(`/v1/tenants/${tenant}/storage-credentials/rotate`).set('authorization', auth);
  const volume = async (tenant: string, name: string): Promise<{ id: string; credentials: Keys }> => {
    const res = await request(t.http).post(`/v1/tenants/${tenant}/volumes`).set('authorization', admin).send({ name });
    expect(res.status).toBe(201);
    return res.body;
  };
  const keysOf = (tenant: string) =>
    sw
      .identities()
      .find((i) => i.name === `headroom-${tenant}`)!
      .accessKeys.sort();

  it('issues a new key shown once, keeps the old one through the overlap, then revokes it', async () => {
    // The first key: as if the onboarding answer was lost (a crash): nobody may rely on having it.
    const v = await volume('acme', 'data');
    const first = v.credentials;
    const res = await rotate('acme');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ tenantId: 'acme', previousAccessKey: first.accessKey });
    const next: Keys = { accessKey: res.body.accessKey, secretKey: res.body.secretKey };
    expect(next.accessKey).not.toBe(first.accessKey);
    expect(issuedAtOf(next.accessKey)).toBeGreaterThan(Date.now() - 60_000);
    const until = Date.parse(res.body.previousValidUntil);
    expect(until - (issuedAtOf(next.accessKey) ?? 0)).toBe(OVERLAP_S * 1000);
    expect(keysOf('acme')).toEqual([first.accessKey, next.accessKey].sort());

    // Both work during the overlap; mount instructions hand out the new one.
    await put(next, 'jfs-acme-data');
    await put(first, 'jfs-acme-data');
    const mount = await request(t.http).get(`/v1/volumes/${v.id}/mount`).set('authorization', admin);
    expect(mount.body.storage).toMatchObject({ accessKey: next.accessKey, secretKey: next.secretKey });

    // A pass inside the overlap revokes nothing.
    expect(await t.services.reconciler.run()).toMatchObject({ keysRevoked: 0, keysRestored: 0 });
    await put(first, 'jfs-acme-data');

    // After it, the first pass revokes the old key: SeaweedFS refuses it, the new one still works.
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now() + 50)));
    expect(await t.services.reconciler.run()).toMatchObject({ keysRevoked: 1, keysRestored: 0 });
    await expect(put(first, 'jfs-acme-data')).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    await put(next, 'jfs-acme-data');
    expect(keysOf('acme')).toEqual([next.accessKey]);
    expect(await t.services.reconciler.run()).toMatchObject({ keysRevoked: 0 });

    // Audited, with no secret in the audit log or the logs.
    const audit = await t.database.db('audit_events').where({ entity_type: 'tenant', entity_id: 'acme' }).whereIn('action', ['tenant.storage_key_rotated', 'tenant.storage_key_revoked']).orderBy('id');
    expect(audit.map((a: { action: string }) => a.action)).toEqual(['tenant.storage_key_rotated', 'tenant.storage_key_revoked']);
    for (const secret of [first.secretKey, next.secretKey]) {
      expect(JSON.stringify(audit, (_k, x) => (typeof x === 'bigint' ? String(x) : x))).not.toContain(secret);
      expect(logs.join('')).not.toContain(secret);
    }
  });

  it('answers 503 when SeaweedFS does not take the new key, keeps the old one, and the reconciler finishes it', async () => {
    const first = (await volume('beta', 'data')).credentials;
    sw.failNext('iam', 500, 2); // the SDK tries twice
    const res = await rotate('beta');
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('dependency_unavailable');
    expect(JSON.stringify(res.body)).not.toMatch(/secretKey/);
    await put(first, 'jfs-beta-data');
    expect(keysOf('beta')).toEqual([first.accessKey]);
    // The pass gives SeaweedFS the recorded key (nobody saw it; a new rotation shows one).
    expect(await t.services.reconciler.run()).toMatchObject({ keysRestored: 1 });
    expect(keysOf('beta')).toHaveLength(2);
    const again = await rotate('beta', `Bearer ${t.token('engineer', 'bea', ['beta'])}`);
    expect(again.status).toBe(200);
    await put({ accessKey: again.body.accessKey, secretKey: again.body.secretKey }, 'jfs-beta-data');
  });

  it('refuses who may not, and tenants without keys', async () => {
    expect((await rotate('acme', `Bearer ${t.token('platform', 'ops')}`)).status).toBe(403);
    expect((await rotate('acme', `Bearer ${t.token('engineer', 'eve', ['beta'])}`)).body.code).toBe('tenant_not_found');
    expect((await rotate('nobody')).body.code).toBe('tenant_not_found');
    const none = await rotate('gamma');
    expect(none.status).toBe(409);
    expect(none.body.code).toBe('no_storage_identity');
  });
});

describe.skipIf(!pgAvailable())('storage key rotation without SeaweedFS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is a 409 that names why', async () => {
    const admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme' });
    const res = await request(t.http).post('/v1/tenants/acme/storage-credentials/rotate').set('authorization', admin);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('storage_not_configured');
    expect(await t.database.db('audit_events').where({ action: 'tenant.storage_key_rotated' })).toHaveLength(0);
  });
});

/** A value in the format before key ids (v1), as the earlier SecretBox wrote it. */
function sealV1(secret: string, plain: string): string {
  const key = createHash('sha256').update(`headroom-storage-secrets:${secret}`).digest();
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return ['v1', ...[iv, c.getAuthTag(), body].map((x) => x.toString('base64url'))].join('.');
}

describe.skipIf(!pgAvailable())('npm run rekey', () => {
  const OLD = 'old-master-key-old-master-key-0123456789';
  const NEW = 'new-master-key-new-master-key-0123456789';
  const root = path.resolve(import.meta.dirname, '../..');
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });
  const rekey = (env: Record<string, string>) =>
    promisify(execFile)('npx', ['tsx', 'scripts/rekey.ts'], { cwd: root, env: { PATH: process.env.PATH, DATABASE_URL: t.database.url, DATA_DIR: t.dataDir, STORAGE_SECRET_KEY: NEW, ...env } });

  it('re-seals every secret under the new key, is safe to repeat, and names what it cannot open', async () => {
    const db = t.database.db;
    const rows = [
      { tenant: 'legacy', plain: 'secret-one', sealed: sealV1(OLD, 'secret-one') },
      { tenant: 'keyed', plain: 'secret-two', sealed: new SecretBox(OLD).seal('secret-two') },
      { tenant: 'current', plain: 'secret-three', sealed: new SecretBox(NEW).seal('secret-three') },
    ];
    for (const [i, r] of rows.entries()) {
      await db('tenants').insert({ id: r.tenant, display_name: r.tenant, email: `${r.tenant}@example.com` });
      await db('storage_identities').insert({ tenant_id: r.tenant, name: `headroom-${r.tenant}`, access_key: `HR00000000000000000${i}`, secret_enc: r.sealed });
    }
    const first = await rekey({ STORAGE_SECRET_KEY_PREVIOUS: OLD });
    expect(first.stdout).toContain(`master key ${new SecretBox(NEW).keyId}: re-sealed 2, already current 1, unreadable 0`);
    // Only the new key is needed now, and each secret is what it was.
    const box = new SecretBox(NEW);
    for (const r of rows) {
      const stored = (await db('storage_identities').where({ tenant_id: r.tenant }).first()).secret_enc as string;
      expect(SecretBox.keyIdOf(stored)).toBe(box.keyId);
      expect(box.open(stored)).toBe(r.plain);
    }
    expect(await db('audit_events').where({ action: 'tenant.storage_secret_resealed' }).pluck('entity_id')).toEqual(expect.arrayContaining(['legacy', 'keyed']));
    expect((await rekey({})).stdout).toContain('re-sealed 0, already current 3, unreadable 0');

    // A value no configured key opens: left alone, named, and the exit code says so.
    await db('tenants').insert({ id: 'lost', display_name: 'lost', email: 'lost@example.com' });
    const lost = new SecretBox('some-other-master-key-0123456789abcdef').seal('x');
    await db('storage_identities').insert({ tenant_id: 'lost', name: 'headroom-lost', access_key: 'HR000000000000000009', secret_enc: lost });
    const failed = await rekey({}).catch((err: { code: number; stderr: string }) => err);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining('lost') });
    expect((await db('storage_identities').where({ tenant_id: 'lost' }).first()).secret_enc).toBe(lost);
  });
});
