/**
 * The fake SeaweedFS must behave like design/seaweedfs.md says the real one does, as seen through
 * the clients our adapter uses: @aws-sdk/client-s3 (path style, us-east-1), @aws-sdk/client-iam
 * against the S3 port, and plain fetch for filer and master. No external servers.
 */
import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUserPoliciesCommand,
  ListUsersCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSeaweed, type FakeSeaweed } from '../support/seaweedfs-fake/index.js';

type Creds = { accessKeyId: string; secretAccessKey: string };

const s3For = (fake: FakeSeaweed, c: Creds): S3Client => new S3Client({ endpoint: fake.s3Url, forcePathStyle: true, region: 'us-east-1', credentials: c, maxAttempts: 1 });
const iamFor = (fake: FakeSeaweed, c: Creds): IAMClient => new IAMClient({ endpoint: fake.s3Url, region: 'us-east-1', credentials: c, maxAttempts: 1 });
const adminCreds = (fake: FakeSeaweed): Creds => ({ accessKeyId: fake.admin.accessKey, secretAccessKey: fake.admin.secretKey });

/** Resolve to the SDK error's code and HTTP status (fails if the call succeeds). */
async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

const policy = (statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const bucketPolicy = (bucket: string): string =>
  policy([
    {
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket', 's3:AbortMultipartUpload'],
      Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    },
  ]);

/** node:crypto-backed hash for @smithy/signature-v4. */
class Sha256 {
  private readonly h;
  constructor(secret?: unknown) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', Buffer.from(secret as Uint8Array | string));
  }
  update(data: unknown): void {
    this.h.update(typeof data === 'string' ? data : Buffer.from(data as Uint8Array));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}

describe('fake SeaweedFS', () => {
  let fake: FakeSeaweed;
  let admin: S3Client;
  let iam: IAMClient;
  let user: Creds;
  const B = 'jfs-alice';
  const C = 'jfs-bob';

  beforeAll(async () => {
    fake = await startFakeSeaweed();
    admin = s3For(fake, adminCreds(fake));
    iam = iamFor(fake, adminCreds(fake));
    await admin.send(new CreateBucketCommand({ Bucket: B }));
    await admin.send(new CreateBucketCommand({ Bucket: C }));
    await iam.send(new CreateUserCommand({ UserName: 'alice' }));
    const key = await iam.send(new CreateAccessKeyCommand({ UserName: 'alice' }));
    user = { accessKeyId: key.AccessKey!.AccessKeyId!, secretAccessKey: key.AccessKey!.SecretAccessKey! };
    await iam.send(new PutUserPolicyCommand({ UserName: 'alice', PolicyName: 'volume', PolicyDocument: bucketPolicy(B) }));
  });
  afterAll(async () => {
    admin?.destroy();
    iam?.destroy();
    await fake?.close();
  });

  describe('buckets (admin)', () => {
    it('creates, heads and lists buckets; validates names; reports an existing bucket as 409', async () => {
      expect(fake.buckets()).toEqual([B, C]);
      await admin.send(new HeadBucketCommand({ Bucket: B }));
      expect(await failure(admin.send(new HeadBucketCommand({ Bucket: 'jfs-none' })))).toMatchObject({ status: 404 });
      const list = await admin.send(new ListBucketsCommand({}));
      expect(list.Buckets?.map((b) => b.Name)).toEqual([B, C]);
      expect(await failure(admin.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).toEqual({ name: 'InvalidBucketName', status: 400 });
      expect(await failure(admin.send(new CreateBucketCommand({ Bucket: 'ab' })))).toEqual({ name: 'InvalidBucketName', status: 400 });
      expect(await failure(admin.send(new CreateBucketCommand({ Bucket: B })))).toEqual({ name: 'BucketAlreadyOwnedByYou', status: 409 });
    });

    it('deletes a non-empty bucket, its collection and the bucket-scoped action strings', async () => {
      const D = 'jfs-doomed';
      await admin.send(new CreateBucketCommand({ Bucket: D }));
      await admin.send(new PutObjectCommand({ Bucket: D, Key: 'v/a', Body: 'x' }));
      fake.addIdentity({ name: 'doomed-user', accessKey: 'DOOMEDKEY1', secretKey: 'doomed-secret-1', actions: ['Write:jfs-doomed', 'Read:jfs-doomed/v/*', 'Read:other'] });
      expect(await (await fetch(`${fake.masterUrl}/collection/info?collection=${D}`)).json()).toMatchObject({ FileCount: 1 });
      await admin.send(new DeleteBucketCommand({ Bucket: D }));
      expect(fake.buckets()).not.toContain(D);
      expect(fake.identities().find((i) => i.name === 'doomed-user')?.actions).toEqual(['Read:other']);
      expect((await fetch(`${fake.masterUrl}/collection/info?collection=${D}`)).status).toBe(400);
    });
  });

  describe('IAM API on the S3 port', () => {
    it('flattens the bucket-scoped inline policy into Read/Write/List:B', async () => {
      const alice = fake.identities().find((i) => i.name === 'alice')!;
      expect(alice.accessKeys).toEqual([user.accessKeyId]);
      expect(user.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
      expect(user.secretAccessKey).toHaveLength(40);
      expect([...alice.actions].sort()).toEqual([`List:${B}`, `Read:${B}`, `Write:${B}`]);
      const got = await iam.send(new GetUserPolicyCommand({ UserName: 'alice', PolicyName: 'volume' }));
      expect(JSON.parse(got.PolicyDocument!)).toEqual(JSON.parse(bucketPolicy(B)));
      expect((await iam.send(new ListUserPoliciesCommand({ UserName: 'alice' }))).PolicyNames).toEqual(['volume']);
      expect((await iam.send(new GetUserCommand({ UserName: 'alice' }))).User?.Arn).toMatch(/user\/alice$/);
      expect((await iam.send(new ListUsersCommand({}))).Users?.map((u) => u.UserName)).toEqual(expect.arrayContaining(['admin', 'alice']));
    });

    it('reports IAM errors in AWS shape', async () => {
      expect(await failure(iam.send(new CreateUserCommand({ UserName: 'alice' })))).toEqual({ name: 'EntityAlreadyExistsException', status: 409 });
      expect(await failure(iam.send(new GetUserCommand({ UserName: 'nobody' })))).toEqual({ name: 'NoSuchEntityException', status: 404 });
      expect(await failure(iam.send(new DeleteUserPolicyCommand({ UserName: 'alice', PolicyName: 'nope' })))).toMatchObject({ status: 404 });
    });

    it('rejects Deny statements and unknown action names as MalformedPolicyDocument, leaving actions unchanged', async () => {
      const before = fake.identities().find((i) => i.name === 'alice')!.actions;
      const deny = policy([{ Effect: 'Deny', Action: ['s3:PutObject'], Resource: [`arn:aws:s3:::${B}/*`] }]);
      expect(await failure(iam.send(new PutUserPolicyCommand({ UserName: 'alice', PolicyName: 'deny', PolicyDocument: deny })))).toEqual({
        name: 'MalformedPolicyDocumentException',
        status: 400,
      });
      for (const action of ['s3:ListBucketMultipartUploads', 's3:Frobnicate', 'iam:CreateUser']) {
        const doc = policy([{ Effect: 'Allow', Action: ['s3:GetObject', action], Resource: [`arn:aws:s3:::${B}/*`] }]);
        expect(await failure(iam.send(new PutUserPolicyCommand({ UserName: 'alice', PolicyName: 'x', PolicyDocument: doc })))).toMatchObject({
          name: 'MalformedPolicyDocumentException',
        });
      }
      expect(fake.identities().find((i) => i.name === 'alice')!.actions).toEqual(before);
      expect((await iam.send(new ListUserPoliciesCommand({ UserName: 'alice' }))).PolicyNames).toEqual(['volume']);
    });

    it('deactivates and deletes keys, deletes users', async () => {
      await iam.send(new CreateUserCommand({ UserName: 'temp' }));
      const created = await iam.send(new CreateAccessKeyCommand({ UserName: 'temp' }));
      const keyId = created.AccessKey!.AccessKeyId!;
      await iam.send(new UpdateAccessKeyCommand({ UserName: 'temp', AccessKeyId: keyId, Status: 'Inactive' }));
      expect((await iam.send(new ListAccessKeysCommand({ UserName: 'temp' }))).AccessKeyMetadata?.[0]?.Status).toBe('Inactive');
      await iam.send(new PutUserPolicyCommand({ UserName: 'temp', PolicyName: 'p', PolicyDocument: bucketPolicy(C) }));
      const inactive = s3For(fake, { accessKeyId: keyId, secretAccessKey: created.AccessKey!.SecretAccessKey! });
      expect(await failure(inactive.send(new ListObjectsV2Command({ Bucket: C })))).toEqual({ name: 'InvalidAccessKeyId', status: 403 });
      await iam.send(new DeleteAccessKeyCommand({ UserName: 'temp', AccessKeyId: keyId }));
      await iam.send(new DeleteUserCommand({ UserName: 'temp' }));
      expect(fake.identities().map((i) => i.name)).not.toContain('temp');
      expect(await failure(iam.send(new DeleteUserCommand({ UserName: 'temp' })))).toMatchObject({ name: 'NoSuchEntityException' });
    });

    it('takes caller-supplied access keys over the wire (hand-signed request)', async () => {
      await iam.send(new CreateUserCommand({ UserName: 'fixed' }));
      const res = await signedFetch(fake, adminCreds(fake), 'iam', 'POST', '/', 'Action=CreateAccessKey&Version=2010-05-08&UserName=fixed&AccessKeyId=FIXEDKEY0001&SecretAccessKey=fixed-secret-0001');
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<AccessKeyId>FIXEDKEY0001</AccessKeyId>');
      const again = await signedFetch(fake, adminCreds(fake), 'iam', 'POST', '/', 'Action=CreateAccessKey&Version=2010-05-08&UserName=alice&AccessKeyId=FIXEDKEY0001&SecretAccessKey=other-secret-01');
      expect(again.status).toBe(409);
      expect(await again.text()).toMatch(/<ErrorResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/"><Error><Type>Sender<\/Type><Code>EntityAlreadyExists<\/Code>/);
      expect(fake.identities().find((i) => i.name === 'fixed')?.accessKeys).toEqual(['FIXEDKEY0001']);
    });
  });

  describe('S3 with a bucket-scoped user key', () => {
    it('can put, get, list and delete in its bucket, including streamed (aws-chunked) uploads', async () => {
      const s3 = s3For(fake, user);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'alice/chunks/0/1_0_5', Body: 'hello' }));
      const big = Buffer.alloc(70_000, 'z');
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'alice/chunks/0/2_0_70000', Body: Readable.from([big]), ContentLength: big.length }));
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'alice/chunks/0/2_0_70000' }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(big)).toBe(true);
      const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'alice/chunks/0/1_0_5' }));
      expect(head.ContentLength).toBe(5);
      expect(head.ETag).toBe(`"${createHash('md5').update('hello').digest('hex')}"`);
      const list = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'alice/' }));
      expect(list.Contents?.map((c) => [c.Key, c.Size])).toEqual([
        ['alice/chunks/0/1_0_5', 5],
        ['alice/chunks/0/2_0_70000', 70_000],
      ]);
      const paged = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'alice/', MaxKeys: 1 }));
      expect(paged.IsTruncated).toBe(true);
      const rest = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'alice/', ContinuationToken: paged.NextContinuationToken }));
      expect(rest.Contents?.map((c) => c.Key)).toEqual(['alice/chunks/0/2_0_70000']);
      const delim = await s3.send(new ListObjectsV2Command({ Bucket: B, Delimiter: '/' }));
      expect(delim.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['alice/']);
      await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'alice/chunks/0/1_0_5' }));
      expect(fake.objectCount(B)).toBe(1);
      expect(await failure(s3.send(new GetObjectCommand({ Bucket: B, Key: 'alice/chunks/0/1_0_5' })))).toEqual({ name: 'NoSuchKey', status: 404 });
      const batch = await s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'alice/chunks/0/2_0_70000' }] } }));
      expect(batch.Deleted?.map((d) => d.Key)).toEqual(['alice/chunks/0/2_0_70000']);
      expect(fake.objectCount(B)).toBe(0);
      s3.destroy();
    });

    it('gets AccessDenied on another bucket, on CreateBucket/DeleteBucket and on IAM; sees only its bucket', async () => {
      const s3 = s3For(fake, user);
      expect(await failure(s3.send(new PutObjectCommand({ Bucket: C, Key: 'x', Body: 'x' })))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(s3.send(new GetObjectCommand({ Bucket: C, Key: 'x' })))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(s3.send(new ListObjectsV2Command({ Bucket: C })))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(s3.send(new CreateBucketCommand({ Bucket: 'jfs-alice2' })))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(s3.send(new DeleteBucketCommand({ Bucket: B })))).toEqual({ name: 'AccessDenied', status: 403 });
      expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual([B]);
      const userIam = iamFor(fake, user);
      expect(await failure(userIam.send(new ListUsersCommand({})))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(userIam.send(new CreateUserCommand({ UserName: 'mallory' })))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(userIam.send(new PutUserPolicyCommand({ UserName: 'alice', PolicyName: 'more', PolicyDocument: bucketPolicy(C) })))).toMatchObject({ status: 403 });
      // Self-service: a user may list its own keys.
      expect((await userIam.send(new ListAccessKeysCommand({}))).AccessKeyMetadata?.map((k) => k.AccessKeyId)).toEqual([user.accessKeyId]);
      s3.destroy();
      userIam.destroy();
    });

    it('rejects a wrong secret, an unknown key and unsigned requests', async () => {
      const wrong = s3For(fake, { accessKeyId: user.accessKeyId, secretAccessKey: 'not-the-secret' });
      expect(await failure(wrong.send(new ListObjectsV2Command({ Bucket: B })))).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
      expect(await failure(wrong.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'x' })))).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
      const unknown = s3For(fake, { accessKeyId: 'AKIANOBODY', secretAccessKey: 'whatever' });
      expect(await failure(unknown.send(new ListObjectsV2Command({ Bucket: B })))).toEqual({ name: 'InvalidAccessKeyId', status: 403 });
      const wrongIam = iamFor(fake, { accessKeyId: fake.admin.accessKey, secretAccessKey: 'nope' });
      expect(await failure(wrongIam.send(new ListUsersCommand({})))).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
      const anon = await fetch(`${fake.s3Url}/${B}?list-type=2`);
      expect(anon.status).toBe(403);
      expect(await anon.text()).toMatch(/<Error><Code>AccessDenied<\/Code><Message>/);
      wrong.destroy();
      unknown.destroy();
      wrongIam.destroy();
    });

    it('checks the signed payload hash and accepts presigned URLs', async () => {
      const ok = await signedFetch(fake, user, 's3', 'PUT', `/${B}/signed/obj`, 'payload');
      expect(ok.status).toBe(200);
      const tampered = await signedFetch(fake, user, 's3', 'PUT', `/${B}/signed/obj`, 'payload', 'other-payload');
      expect(tampered.status).toBe(400);
      expect(await tampered.text()).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
      const url = await presign(fake, user, `/${B}/signed/obj`);
      const got = await fetch(url);
      expect(got.status).toBe(200);
      expect(await got.text()).toBe('payload');
      const bad = await fetch(url.replace(/X-Amz-Signature=[0-9a-f]+/, `X-Amz-Signature=${'0'.repeat(64)}`));
      expect(bad.status).toBe(403);
      await s3For(fake, user).send(new DeleteObjectCommand({ Bucket: B, Key: 'signed/obj' }));
    });
  });

  describe('signed aws-chunked uploads', () => {
    it('accepts STREAMING-AWS4-HMAC-SHA256-PAYLOAD with valid chunk signatures and refuses a bad one', async () => {
      const chunks = [Buffer.alloc(8192, 'a'), Buffer.from('tail')];
      const ok = await chunkedPut(fake, user, `/${B}/chunked/obj`, chunks, false);
      expect(ok.status).toBe(200);
      const got = await s3For(fake, user).send(new GetObjectCommand({ Bucket: B, Key: 'chunked/obj' }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(chunks))).toBe(true);
      const bad = await chunkedPut(fake, user, `/${B}/chunked/bad`, chunks, true);
      expect(bad.status).toBe(403);
      expect(await bad.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
      expect(fake.objectKeys(B)).not.toContain('chunked/bad');
      await s3For(fake, user).send(new DeleteObjectCommand({ Bucket: B, Key: 'chunked/obj' }));
    });
  });

  describe('prefix-scoped identities', () => {
    it('maps arn:aws:s3:::B/p/* to Action:B/p/* and scopes writes and prefix lists', async () => {
      await admin.send(new CreateBucketCommand({ Bucket: 'shared' }));
      await iam.send(new CreateUserCommand({ UserName: 'u1' }));
      const k = await iam.send(new CreateAccessKeyCommand({ UserName: 'u1' }));
      const doc = policy([{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'], Resource: ['arn:aws:s3:::shared/u1/*'] }]);
      await iam.send(new PutUserPolicyCommand({ UserName: 'u1', PolicyName: 'p', PolicyDocument: doc }));
      expect([...fake.identities().find((i) => i.name === 'u1')!.actions].sort()).toEqual(['List:shared/u1/*', 'Read:shared/u1/*', 'Write:shared/u1/*']);
      const s3 = s3For(fake, { accessKeyId: k.AccessKey!.AccessKeyId!, secretAccessKey: k.AccessKey!.SecretAccessKey! });
      await s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'u1/a', Body: 'a' }));
      expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'u10/a', Body: 'a' })))).toMatchObject({ name: 'AccessDenied' });
      expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'u2/a', Body: 'a' })))).toMatchObject({ name: 'AccessDenied' });
      expect((await s3.send(new ListObjectsV2Command({ Bucket: 'shared', Prefix: 'u1/' }))).KeyCount).toBe(1);
      expect(await failure(s3.send(new ListObjectsV2Command({ Bucket: 'shared' })))).toMatchObject({ name: 'AccessDenied' });
      s3.destroy();
    });
  });

  describe('filer.conf read-only rules', () => {
    it('GET is 404 before any rule; PUT/GET round-trips with an md5 ETag; invalid JSON is 400', async () => {
      const conf = `${fake.filerUrl}/etc/seaweedfs/filer.conf`;
      expect((await fetch(conf)).status).toBe(404);
      const body = JSON.stringify({ version: 1, locations: [{ locationPrefix: '/buckets/unrelated/', replication: '000' }] });
      const put = await fetch(conf, { method: 'PUT', body, headers: { 'Content-Type': 'application/json' } });
      expect(put.status).toBe(201);
      const got = await fetch(conf);
      expect(got.status).toBe(200);
      expect(got.headers.get('etag')).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
      expect(await got.text()).toBe(body);
      expect((await fetch(conf, { method: 'PUT', body: '{not json' })).status).toBe(400);
      expect(fake.filerConf()).toBe(body);
    });

    it('a readOnly rule on /buckets/B/vol/ refuses PutObject there (403) but not deletes or other prefixes', async () => {
      const s3 = s3For(fake, user);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'vol/existing', Body: 'data' }));
      const conf = { version: 1, locations: [{ locationPrefix: `/buckets/${B}/vol/`, readOnly: true }] };
      expect((await fetch(`${fake.filerUrl}/etc/seaweedfs/filer.conf`, { method: 'PUT', body: JSON.stringify(conf) })).status).toBe(201);
      expect(await failure(s3.send(new PutObjectCommand({ Bucket: B, Key: 'vol/new', Body: 'x' })))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(admin.send(new PutObjectCommand({ Bucket: B, Key: 'vol/new', Body: 'x' })))).toEqual({ name: 'AccessDenied', status: 403 });
      expect(await failure(s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'vol/mp' })))).toEqual({ name: 'AccessDenied', status: 403 });
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'other/new', Body: 'x' }));
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'volume-not-vol', Body: 'x' }));
      await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'vol/existing' }));
      expect(fake.objectKeys(B)).toEqual(['other/new', 'volume-not-vol']);
      // snake_case is accepted too; removing the rule unfreezes.
      const snake = { locations: [{ location_prefix: `/buckets/${B}/other/`, read_only: true }] };
      expect((await fetch(`${fake.filerUrl}/etc/seaweedfs/filer.conf`, { method: 'PUT', body: JSON.stringify(snake) })).status).toBe(201);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'vol/new', Body: 'x' }));
      expect(await failure(s3.send(new PutObjectCommand({ Bucket: B, Key: 'other/x', Body: 'x' })))).toMatchObject({ status: 403 });
      expect((await fetch(`${fake.filerUrl}/etc/seaweedfs/filer.conf`, { method: 'PUT', body: JSON.stringify({ version: 1, locations: [] }) })).status).toBe(201);
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'other/x', Body: 'x' }));
      for (const k of fake.objectKeys(B)) await s3.send(new DeleteObjectCommand({ Bucket: B, Key: k }));
      s3.destroy();
    });

    it('multipart uploads can be aborted under a read-only rule', async () => {
      const s3 = s3For(fake, user);
      const mp = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp/obj' }));
      expect((await fetch(`${fake.filerUrl}/etc/seaweedfs/filer.conf`, { method: 'PUT', body: JSON.stringify({ locations: [{ locationPrefix: `/buckets/${B}/`, readOnly: true }] }) })).status).toBe(
        201,
      );
      // New parts are refused under the rule, but the abort that frees the space goes through.
      expect(await failure(s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp/obj', UploadId: mp.UploadId, PartNumber: 1, Body: 'x' })))).toMatchObject({ status: 403 });
      const aborted = await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: 'mp/obj', UploadId: mp.UploadId }));
      expect(aborted.$metadata.httpStatusCode).toBe(204);
      expect((await fetch(`${fake.filerUrl}/etc/seaweedfs/filer.conf`, { method: 'PUT', body: JSON.stringify({ locations: [] }) })).status).toBe(201);
      s3.destroy();
    });
  });

  describe('filer listing and delete', () => {
    it('lists a bucket directory as JSON and deletes a prefix recursively', async () => {
      await admin.send(new PutObjectCommand({ Bucket: C, Key: 'v1/a', Body: 'aaa' }));
      await admin.send(new PutObjectCommand({ Bucket: C, Key: 'v1/sub/b', Body: 'bb' }));
      await admin.send(new PutObjectCommand({ Bucket: C, Key: 'v2/c', Body: 'c' }));
      const res = await fetch(`${fake.filerUrl}/buckets/${C}/v1/`, { headers: { Accept: 'application/json' } });
      const listing = (await res.json()) as { Path: string; Entries: { FullPath: string; FileSize: number; Mode: number }[] };
      expect(listing.Path).toBe(`/buckets/${C}/v1`);
      expect(listing.Entries.map((e) => [e.FullPath, e.FileSize])).toEqual([
        [`/buckets/${C}/v1/a`, 3],
        [`/buckets/${C}/v1/sub`, 0],
      ]);
      expect(listing.Entries[1]!.Mode & 0x80000000).not.toBe(0);
      const notRecursive = await fetch(`${fake.filerUrl}/buckets/${C}/v1`, { method: 'DELETE' });
      expect(notRecursive.status).toBe(500);
      expect((await fetch(`${fake.filerUrl}/buckets/${C}/v1?recursive=true&ignoreRecursiveError=true`, { method: 'DELETE' })).status).toBe(204);
      expect(fake.objectKeys(C)).toEqual(['v2/c']);
      expect((await fetch(`${fake.filerUrl}/buckets/${C}/v1/`, { headers: { Accept: 'application/json' } })).status).toBe(404);
      await admin.send(new CreateBucketCommand({ Bucket: 'jfs-empty' }));
      const empty = (await (await fetch(`${fake.filerUrl}/buckets/jfs-empty/`, { headers: { Accept: 'application/json' } })).json()) as { Entries: unknown; EmptyFolder: boolean };
      expect(empty).toMatchObject({ Entries: null, EmptyFolder: true });
      const root = (await (await fetch(`${fake.filerUrl}/buckets/`, { headers: { Accept: 'application/json' } })).json()) as { Entries: { FullPath: string }[] };
      expect(root.Entries.map((e) => e.FullPath)).toContain('/buckets/jfs-empty');
    });
  });

  describe('master', () => {
    it('/vol/status has one volume per bucket with data: Size = objects + garbage, FileCount, distinct ids across replicas', async () => {
      const V = 'jfs-usage';
      await admin.send(new CreateBucketCommand({ Bucket: V }));
      await admin.send(new PutObjectCommand({ Bucket: V, Key: 'u/a', Body: Buffer.alloc(1000) }));
      await admin.send(new PutObjectCommand({ Bucket: V, Key: 'u/b', Body: Buffer.alloc(234) }));
      fake.setDeletedBytes(V, 100);
      fake.setReplicas(V, 2);
      const status = (await (await fetch(`${fake.masterUrl}/vol/status`)).json()) as {
        Version: string;
        Volumes: { DataCenters: Record<string, Record<string, Record<string, { Id: number; Collection: string; Size: number; DeletedByteCount: number; FileCount: number }[]>>> };
      };
      expect(status.Version).toContain('4.44');
      const vols = Object.values(status.Volumes.DataCenters).flatMap((dc) => Object.values(dc).flatMap((rack) => Object.values(rack).flat()));
      const mine = vols.filter((v) => v.Collection === V);
      expect(mine).toHaveLength(2);
      expect(new Set(mine.map((v) => v.Id)).size).toBe(1);
      expect(mine[0]).toMatchObject({ Size: 1334, DeletedByteCount: 100, FileCount: 2 });
      const info = (await (await fetch(`${fake.masterUrl}/collection/info?collection=${V}`)).json()) as Record<string, number>;
      expect(info).toMatchObject({ UsedSize: 2668, FileCount: 4, VolumeCount: 2 });
      expect((await fetch(`${fake.masterUrl}/collection/info?collection=jfs-nothing`)).status).toBe(400);
      expect((await fetch(`${fake.masterUrl}/cluster/healthz`)).status).toBe(200);
      // Deleting keeps the bytes as garbage until vacuum.
      await admin.send(new DeleteObjectCommand({ Bucket: V, Key: 'u/b' }));
      const after = (await (await fetch(`${fake.masterUrl}/vol/status`)).json()) as typeof status;
      const v1 = Object.values(after.Volumes.DataCenters.dc1!.rack1!)
        .flat()
        .find((v) => v.Collection === V)!;
      expect(v1.Size - v1.DeletedByteCount).toBe(1000);
      fake.vacuum(V);
      expect(((await (await fetch(`${fake.masterUrl}/collection/info?collection=${V}`)).json()) as Record<string, number>).UsedSize).toBe(2000);
    });
  });

  describe('fault injection', () => {
    it('failNext answers the next N requests of one service with the given status', async () => {
      fake.failNext('s3', 503, 2);
      expect(await failure(admin.send(new HeadBucketCommand({ Bucket: B })))).toMatchObject({ status: 503 });
      expect(await failure(admin.send(new ListObjectsV2Command({ Bucket: B })))).toEqual({ name: 'SlowDown', status: 503 });
      await admin.send(new HeadBucketCommand({ Bucket: B }));
      fake.failNext('iam', 500);
      expect(await failure(iam.send(new ListUsersCommand({})))).toEqual({ name: 'ServiceFailureException', status: 500 });
      await iam.send(new ListUsersCommand({}));
      fake.failNext('filer', 503);
      expect((await fetch(`${fake.filerUrl}/etc/seaweedfs/filer.conf`)).status).toBe(503);
      expect((await fetch(`${fake.filerUrl}/etc/seaweedfs/filer.conf`)).status).toBe(200);
      fake.failNext('master', 500);
      expect((await fetch(`${fake.masterUrl}/vol/status`)).status).toBe(500);
      expect((await fetch(`${fake.masterUrl}/vol/status`)).status).toBe(200);
      const iamCalls = fake.calls.filter((c) => c.service === 'iam' && c.action === 'ListUsers');
      expect(iamCalls.at(-2)).toMatchObject({ method: 'POST', path: '/', status: 500 });
      expect(fake.calls.some((c) => c.service === 's3' && c.action === 'PutObject' && c.status === 403)).toBe(true);
    });
  });

  describe('older versions', () => {
    it('3.59: read-only writes fail with 500 InternalError and there is no IAM on the S3 port', async () => {
      const old = await startFakeSeaweed({ version: '3.59' });
      const s3 = s3For(old, adminCreds(old));
      await s3.send(new CreateBucketCommand({ Bucket: 'jfs-old' }));
      await fetch(`${old.filerUrl}/etc/seaweedfs/filer.conf`, { method: 'PUT', body: JSON.stringify({ locations: [{ locationPrefix: '/buckets/jfs-old/', readOnly: true }] }) });
      expect(await failure(s3.send(new PutObjectCommand({ Bucket: 'jfs-old', Key: 'k', Body: 'x' })))).toEqual({ name: 'InternalError', status: 500 });
      expect(await failure(iamFor(old, adminCreds(old)).send(new ListUsersCommand({})))).toMatchObject({ status: 501 });
      s3.destroy();
      await old.close();
    });
  });
});

/** Hand-signed request with @smithy/signature-v4 (payload hash of `body`; `sendBody` may differ to tamper). */
async function signedFetch(fake: FakeSeaweed, c: Creds, service: 's3' | 'iam', method: string, path: string, body: string, sendBody = body): Promise<Response> {
  const url = new URL(fake.s3Url);
  const signer = new SignatureV4({ credentials: c, region: 'us-east-1', service, sha256: Sha256, uriEscapePath: service !== 's3' });
  const headers: Record<string, string> = { host: url.host };
  if (service === 's3') headers['x-amz-content-sha256'] = createHash('sha256').update(body).digest('hex');
  else headers['content-type'] = 'application/x-www-form-urlencoded';
  const signed = await signer.sign({ method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query: {}, headers, body });
  return fetch(`${fake.s3Url}${path}`, { method, headers: signed.headers, body: sendBody });
}

async function presign(fake: FakeSeaweed, c: Creds, path: string): Promise<string> {
  const url = new URL(fake.s3Url);
  const signer = new SignatureV4({ credentials: c, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false });
  const req = await signer.presign(
    { method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query: {}, headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
    { expiresIn: 300 },
  );
  const qs = Object.entries(req.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return `${fake.s3Url}${path}?${qs}`;
}

/** PUT with signed aws-chunked encoding, chunk signatures computed here from the SigV4 description. */
async function chunkedPut(fake: FakeSeaweed, c: Creds, path: string, chunks: Buffer[], corrupt: boolean): Promise<Response> {
  const url = new URL(fake.s3Url);
  const signer = new SignatureV4({ credentials: c, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false });
  const total = chunks.reduce((n, ch) => n + ch.length, 0);
  const headers: Record<string, string> = {
    host: url.host,
    'content-encoding': 'aws-chunked',
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'x-amz-decoded-content-length': String(total),
  };
  const signed = await signer.sign({ method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query: {}, headers });
  const seed = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))![1]!;
  const amzDate = String(signed.headers['x-amz-date']);
  const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const h = (k: Buffer | string, d: string): Buffer => createHmac('sha256', k).update(d).digest();
  const key = h(h(h(h(`AWS4${c.secretAccessKey}`, amzDate.slice(0, 8)), 'us-east-1'), 's3'), 'aws4_request');
  const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
  const parts: Buffer[] = [];
  let prev = seed;
  for (const [i, ch] of [...chunks, Buffer.alloc(0)].entries()) {
    const sts = ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, prev, sha(''), sha(ch)].join('\n');
    let sig = createHmac('sha256', key).update(sts).digest('hex');
    if (corrupt && i === 1) sig = sig.replace(/^./, (x) => (x === '0' ? '1' : '0'));
    parts.push(Buffer.from(`${ch.length.toString(16)};chunk-signature=${sig}\r\n`), ch, Buffer.from('\r\n'));
    prev = sig;
  }
  return fetch(`${fake.s3Url}${path}`, { method: 'PUT', headers: signed.headers, body: Buffer.concat(parts) });
}
