/**
 * The S3 gateway port of the fake: SigV4 authentication, SeaweedFS action-string authorisation,
 * a path-style S3 subset and, on `POST /` with an `Action=` form, the embedded IAM API (≥4.03).
 */
import { createHash, randomUUID } from 'node:crypto';
import type http from 'node:http';
import zlib from 'node:zlib';
import { handleIam, iamError } from './iam.js';
import { el, readBody, requestId, send, splitTarget, xmlAll, xmlUnescape } from './http.js';
import { amzDateToMs, decodeAwsChunked, MAX_SKEW_MS, parseAuth, parseQuery, safeDecode, sha256Hex, verifySignature } from './sigv4.js';
import { FakeState, md5Hex, type FakeBucket, type FakeCall, type FakeIdentity, type FakeObject } from './state.js';

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** Query keys that select an S3 sub-resource (anything else, e.g. the SDK's `x-id`, is ignored). */
const SUBRESOURCES = new Set([
  'acl',
  'accelerate',
  'analytics',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'partNumber',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versioning',
  'versions',
  'website',
  'seaweedfs-quota',
]);

export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const MESSAGES: Record<string, string> = {
  AccessDenied: 'Access Denied.',
  InvalidAccessKeyId: 'The AWS access key ID you provided does not exist in our records.',
  SignatureDoesNotMatch: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  NoSuchBucket: 'The specified bucket does not exist',
  NoSuchKey: 'The specified key does not exist.',
  NoSuchUpload: 'The specified multipart upload does not exist.',
  InvalidBucketName: 'The specified bucket is not valid.',
  BucketAlreadyExists: 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
  BucketAlreadyOwnedByYou: 'Your previous request to create the named bucket succeeded and you already own it.',
  BucketNotEmpty: 'The bucket you tried to delete is not empty',
  NotImplemented: 'A header you provided implies functionality that is not implemented',
  InternalError: 'We encountered an internal error, please try again.',
  SlowDown: 'Please reduce your request rate.',
};

const err = (status: number, code: string, message?: string): S3Error => new S3Error(status, code, message ?? MESSAGES[code] ?? code);

function s3ErrorBody(code: string, message: string, resource: string, reqId: string): string {
  return `${XML_DECL}<Error>${el('Code', code)}${el('Message', message)}${el('Resource', resource)}${el('RequestId', reqId)}</Error>`;
}

export function faultCodeS3(status: number, hasKey: boolean): string {
  switch (status) {
    case 400:
      return 'InvalidRequest';
    case 403:
      return 'AccessDenied';
    case 404:
      return hasKey ? 'NoSuchKey' : 'NoSuchBucket';
    case 409:
      return 'OperationAborted';
    case 500:
      return 'InternalError';
    case 501:
      return 'NotImplemented';
    case 503:
      return 'SlowDown';
    default:
      return 'InjectedFault';
  }
}

const httpDate = (d: Date): string => d.toUTCString();
const isoDate = (d: Date): string => d.toISOString();
const quoted = (etag: string): string => `"${etag}"`;

/** 3–63 chars of lowercase letters, digits and hyphens, starting and ending with a letter or digit. */
export function validBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name);
}

interface Ctx {
  state: FakeState;
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  bucket: string;
  key: string;
  query: Map<string, string>;
  body: Buffer;
  /** undefined when authentication is off. */
  identity: FakeIdentity | undefined;
  reqId: string;
  call: FakeCall;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function s3Handler(state: FakeState): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    handle(state, req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, s3ErrorBody('InternalError', String(e), req.url ?? '/', requestId()), { 'Content-Type': 'application/xml' });
      else res.destroy();
    });
  };
}

async function handle(state: FakeState, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const { rawPath, rawQuery } = splitTarget(req.url);
  const queryPairs = parseQuery(rawQuery);
  const query = new Map(queryPairs);
  const rawBody = await readBody(req);
  const path = rawPath.split('/').map(safeDecode).join('/');
  const reqId = requestId();

  // Embedded IAM: POST / with a form (or query) carrying Action=…
  const contentType = header(req, 'content-type') ?? '';
  let form: Map<string, string> | undefined;
  if (method === 'POST' && path === '/') {
    const pairs = contentType.startsWith('application/x-www-form-urlencoded') ? parseQuery(rawBody.toString('utf8').replace(/\+/g, '%20')) : [];
    const merged = new Map([...queryPairs, ...pairs]);
    if (merged.has('Action')) form = merged;
  }
  const isIam = form !== undefined;
  const slash = path.indexOf('/', 1);
  const bucket = path.length > 1 ? (slash < 0 ? path.slice(1) : path.slice(1, slash)) : '';
  const key = slash < 0 ? '' : path.slice(slash + 1);

  const call: FakeCall = { service: isIam ? 'iam' : 's3', method, path, query: rawQuery };
  if (isIam) call.action = form!.get('Action');
  state.calls.push(call);
  res.on('finish', () => {
    call.status = res.statusCode;
  });

  const fail = (e: S3Error): void => {
    if (isIam) return iamError(res, e.status, e.code, e.message, reqId);
    if (method === 'HEAD') return send(res, e.status, undefined, { 'x-amz-request-id': reqId });
    send(res, e.status, s3ErrorBody(e.code, e.message, path, reqId), { 'Content-Type': 'application/xml', 'x-amz-request-id': reqId });
  };

  const fault = state.takeFault(call.service);
  if (fault !== undefined) {
    if (isIam) return iamError(res, fault, faultCodeIam(fault), 'injected fault', reqId);
    return fail(err(fault, faultCodeS3(fault, key !== ''), 'injected fault'));
  }

  try {
    if (isIam && !state.atLeast('4.03')) throw err(501, 'NotImplemented', `no embedded IAM API before 4.03 (fake version ${state.version})`);

    // ---- authentication -------------------------------------------------------------------
    let identity: FakeIdentity | undefined;
    let body = rawBody;
    let trailers: Record<string, string> = {};
    const auth = parseAuth(req.headers, queryPairs);
    if (auth && 'code' in auth) {
      if (state.authEnabled()) throw err(auth.code === 'AccessDenied' ? 403 : 400, auth.code, auth.message);
    }
    const contentSha = header(req, 'x-amz-content-sha256');
    if (state.authEnabled()) {
      if (auth === null) {
        identity = state.findIdentity('anonymous');
        if (!identity) throw err(403, 'AccessDenied');
      } else if (!('code' in auth)) {
        const found = state.lookupAccessKey(auth.accessKey);
        if (!found || found.credential.status !== 'Active') throw err(403, 'InvalidAccessKeyId');
        const t = amzDateToMs(auth.amzDate);
        if (auth.kind === 'header' && Math.abs(Date.now() - t) > MAX_SKEW_MS) {
          throw err(403, 'RequestTimeTooSkewed', 'The difference between the request time and the server time is too large.');
        }
        if (auth.kind === 'query' && Date.now() > t + (auth.expires ?? 0) * 1000) throw err(403, 'AccessDenied', 'Request has expired');
        const v = verifySignature({ method, rawPath, query: queryPairs, headers: req.headers, body: rawBody, auth, secretKey: found.credential.secretKey });
        if (!v.ok) throw err(403, 'SignatureDoesNotMatch');
        if (v.payloadHash.startsWith('STREAMING-')) {
          const decoded = decodeAwsChunked({
            body: rawBody,
            signed: v.payloadHash.startsWith('STREAMING-AWS4-HMAC-SHA256-PAYLOAD'),
            seedSignature: auth.signature,
            signingKey: v.signingKey,
            amzDate: auth.amzDate,
            scope: auth.scope,
          });
          if (!decoded.ok) throw err(decoded.code === 'SignatureDoesNotMatch' ? 403 : 400, decoded.code, decoded.message);
          body = decoded.data;
          trailers = decoded.trailers;
        } else if (/^[0-9a-f]{64}$/.test(v.payloadHash) && sha256Hex(rawBody) !== v.payloadHash) {
          throw err(400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
        }
        identity = found.identity;
      }
    } else if (contentSha?.startsWith('STREAMING-')) {
      const decoded = decodeAwsChunked({ body: rawBody, signed: false, seedSignature: '', signingKey: Buffer.alloc(0), amzDate: '', scope: '' });
      if (!decoded.ok) throw err(400, decoded.code, decoded.message);
      body = decoded.data;
      trailers = decoded.trailers;
    }
    if (identity) call.identity = identity.name;
    const declared = header(req, 'x-amz-decoded-content-length');
    if (declared !== undefined && contentSha?.startsWith('STREAMING-') && Number(declared) !== body.length) {
      throw err(400, 'IncompleteBody', 'x-amz-decoded-content-length does not match the decoded body');
    }

    const crc = header(req, 'x-amz-checksum-crc32') ?? trailers['x-amz-checksum-crc32'];
    if (crc !== undefined && typeof zlib.crc32 === 'function') {
      const actual = Buffer.alloc(4);
      actual.writeUInt32BE(zlib.crc32(body) >>> 0);
      if (actual.toString('base64') !== crc) throw err(400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
    }

    if (isIam) {
      handleIam(state, identity, form!, res, reqId);
      return;
    }
    const ctx: Ctx = { state, req, res, method, bucket, key, query, body, identity, reqId, call };
    await s3Operation(ctx);
  } catch (e) {
    if (e instanceof S3Error) return fail(e);
    throw e;
  }
}

export function faultCodeIam(status: number): string {
  switch (status) {
    case 400:
      return 'InvalidInput';
    case 403:
      return 'AccessDenied';
    case 404:
      return 'NoSuchEntity';
    case 409:
      return 'EntityAlreadyExists';
    case 500:
      return 'ServiceFailure';
    case 503:
      return 'ServiceUnavailable';
    default:
      return 'InjectedFault';
  }
}

// ---- S3 operations ------------------------------------------------------------------------

function subresource(query: Map<string, string>): string | undefined {
  for (const k of query.keys()) if (SUBRESOURCES.has(k)) return k;
  return undefined;
}

function opName(ctx: Ctx): string {
  const { method, bucket, key, query, req } = ctx;
  const sub = subresource(query);
  if (!bucket) {
    if (method === 'GET' && !sub) return 'ListBuckets';
    return 'Unsupported';
  }
  if (!key) {
    if (method === 'PUT') return sub ? `PutBucket:${sub}` : 'CreateBucket';
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'DELETE') return sub ? `DeleteBucket:${sub}` : 'DeleteBucket';
    if (method === 'POST') return sub === 'delete' ? 'DeleteObjects' : 'Unsupported';
    if (method === 'GET') {
      if (!sub) return query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
      if (sub === 'location') return 'GetBucketLocation';
      if (sub === 'uploads') return 'ListMultipartUploads';
      return `GetBucket:${sub}`;
    }
    return 'Unsupported';
  }
  if (method === 'PUT') {
    if (query.has('uploadId') && query.has('partNumber')) return 'UploadPart';
    if (sub) return `PutObject:${sub}`;
    return header(req, 'x-amz-copy-source') ? 'CopyObject' : 'PutObject';
  }
  if (method === 'GET') return query.has('uploadId') ? 'ListParts' : sub ? `GetObject:${sub}` : 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'DELETE') return query.has('uploadId') ? 'AbortMultipartUpload' : sub ? `DeleteObject:${sub}` : 'DeleteObject';
  if (method === 'POST') {
    if (query.has('uploads')) return 'CreateMultipartUpload';
    if (query.has('uploadId')) return 'CompleteMultipartUpload';
  }
  return 'Unsupported';
}

function requireAction(ctx: Ctx, action: string, key = ''): void {
  if (!ctx.identity) return; // auth off
  if (!ctx.state.canDo(ctx.identity, action, ctx.bucket, key)) throw err(403, 'AccessDenied');
}

function getBucket(ctx: Ctx): FakeBucket {
  const b = ctx.state.buckets.get(ctx.bucket);
  if (!b) throw err(404, 'NoSuchBucket');
  return b;
}

/** Writes under a read-only filer.conf location fail: 403 AccessDenied (≥4.01), 500 before. */
function checkWritable(ctx: Ctx, key: string): void {
  if (ctx.state.isReadOnly(`/buckets/${ctx.bucket}/${key}`)) {
    if (ctx.state.atLeast('4.01')) throw err(403, 'AccessDenied', `path /buckets/${ctx.bucket}/${key} is read only`);
    throw err(500, 'InternalError', 'read only');
  }
}

function xml(ctx: Ctx, status: number, inner: string, headers: Record<string, string> = {}): void {
  send(ctx.res, status, `${XML_DECL}${inner}`, { 'Content-Type': 'application/xml', 'x-amz-request-id': ctx.reqId, ...headers });
}

function empty(ctx: Ctx, status: number, headers: Record<string, string> = {}): void {
  send(ctx.res, status, undefined, { 'x-amz-request-id': ctx.reqId, ...headers });
}

function userMeta(req: http.IncomingMessage): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-amz-meta-') && v !== undefined) meta[k] = Array.isArray(v) ? v.join(',') : v;
  return meta;
}

function checkContentMd5(ctx: Ctx, body: Buffer): void {
  const given = header(ctx.req, 'content-md5');
  if (given !== undefined && createHash('md5').update(body).digest('base64') !== given) {
    throw err(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
}

async function s3Operation(ctx: Ctx): Promise<void> {
  const op = opName(ctx);
  ctx.call.action = op;
  const { state, bucket, key, query } = ctx;
  switch (op) {
    case 'ListBuckets': {
      const visible = [...state.buckets.values()].filter((b) => !ctx.identity || state.canSeeBucket(ctx.identity, b.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
      const owner = ctx.identity?.name ?? 'anonymous';
      return xml(
        ctx,
        200,
        `<ListAllMyBucketsResult xmlns="${S3_NS}"><Owner>${el('ID', owner)}${el('DisplayName', owner)}</Owner><Buckets>${visible
          .map((b) => `<Bucket>${el('Name', b.name)}${el('CreationDate', isoDate(b.created))}</Bucket>`)
          .join('')}</Buckets></ListAllMyBucketsResult>`,
      );
    }
    case 'CreateBucket': {
      requireAction(ctx, 'Admin');
      if (!validBucketName(bucket)) throw err(400, 'InvalidBucketName');
      const existing = state.buckets.get(bucket);
      if (existing) {
        // Documented choice: the creator gets BucketAlreadyOwnedByYou, anybody else BucketAlreadyExists (both 409).
        if (existing.owner !== undefined && existing.owner === ctx.identity?.name) throw err(409, 'BucketAlreadyOwnedByYou');
        throw err(409, 'BucketAlreadyExists');
      }
      state.createBucket(bucket, ctx.identity?.name);
      return empty(ctx, 200, { Location: `/${bucket}` });
    }
    case 'HeadBucket':
      requireAction(ctx, 'Read');
      getBucket(ctx);
      return empty(ctx, 200, { 'x-amz-bucket-region': 'us-east-1' });
    case 'DeleteBucket':
      requireAction(ctx, 'DeleteBucket');
      // With -allowDeleteBucketNotEmpty SeaweedFS deletes non-empty buckets and drops the
      // collection; without it (the 4.x default) a bucket holding objects is refused.
      if (getBucket(ctx).objects.size > 0 && !state.allowDeleteBucketNotEmpty) throw err(409, 'BucketNotEmpty');
      state.deleteBucket(bucket);
      return empty(ctx, 204);
    case 'GetBucketLocation':
      requireAction(ctx, 'Read');
      getBucket(ctx);
      return xml(ctx, 200, `<LocationConstraint xmlns="${S3_NS}"></LocationConstraint>`);
    case 'ListObjectsV2':
    case 'ListObjects':
      requireAction(ctx, 'List', query.get('prefix') ?? '');
      return listObjects(ctx, getBucket(ctx), op === 'ListObjectsV2');
    case 'ListMultipartUploads': {
      requireAction(ctx, 'Write');
      const b = getBucket(ctx);
      const prefix = query.get('prefix') ?? '';
      const ups = [...b.uploads.values()].filter((u) => u.key.startsWith(prefix)).sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
      return xml(
        ctx,
        200,
        `<ListMultipartUploadsResult xmlns="${S3_NS}">${el('Bucket', bucket)}<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>${el('Prefix', prefix)}<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${ups
          .map((u) => `<Upload>${el('Key', u.key)}${el('UploadId', u.id)}${el('Initiated', isoDate(u.initiated))}<StorageClass>STANDARD</StorageClass></Upload>`)
          .join('')}</ListMultipartUploadsResult>`,
      );
    }
    case 'DeleteObjects':
      return deleteObjects(ctx);
    case 'PutObject': {
      requireAction(ctx, 'Write', key);
      const b = getBucket(ctx);
      checkWritable(ctx, key);
      checkContentMd5(ctx, ctx.body);
      const etag = md5Hex(ctx.body);
      state.putObject(b, key, { body: ctx.body, etag, contentType: header(ctx.req, 'content-type') ?? 'application/octet-stream', meta: userMeta(ctx.req), mtime: new Date() });
      return empty(ctx, 200, { ETag: quoted(etag) });
    }
    case 'CopyObject':
      return copyObject(ctx);
    case 'GetObject':
    case 'HeadObject': {
      requireAction(ctx, 'Read', key);
      const b = getBucket(ctx);
      const o = b.objects.get(key);
      if (!o) throw err(404, 'NoSuchKey');
      return sendObject(ctx, o, op === 'HeadObject');
    }
    case 'DeleteObject': {
      requireAction(ctx, 'Write', key);
      const b = getBucket(ctx);
      state.removeObject(b, key); // deletes ignore read-only rules; a missing key is not an error
      return empty(ctx, 204);
    }
    case 'CreateMultipartUpload': {
      requireAction(ctx, 'Write', key);
      const b = getBucket(ctx);
      checkWritable(ctx, key);
      const id = randomUUID().replace(/-/g, '');
      b.uploads.set(id, { id, key, initiated: new Date(), contentType: header(ctx.req, 'content-type') ?? 'application/octet-stream', meta: userMeta(ctx.req), parts: new Map() });
      return xml(ctx, 200, `<InitiateMultipartUploadResult xmlns="${S3_NS}">${el('Bucket', bucket)}${el('Key', key)}${el('UploadId', id)}</InitiateMultipartUploadResult>`);
    }
    case 'UploadPart': {
      requireAction(ctx, 'Write', key);
      const b = getBucket(ctx);
      const u = b.uploads.get(query.get('uploadId') ?? '');
      if (!u || u.key !== key) throw err(404, 'NoSuchUpload');
      const n = Number(query.get('partNumber'));
      if (!Number.isInteger(n) || n < 1 || n > 10000) throw err(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
      checkWritable(ctx, key);
      checkContentMd5(ctx, ctx.body);
      const etag = md5Hex(ctx.body);
      u.parts.set(n, { body: ctx.body, etag, mtime: new Date() });
      return empty(ctx, 200, { ETag: quoted(etag) });
    }
    case 'CompleteMultipartUpload': {
      requireAction(ctx, 'Write', key);
      const b = getBucket(ctx);
      const u = b.uploads.get(query.get('uploadId') ?? '');
      if (!u || u.key !== key) throw err(404, 'NoSuchUpload');
      checkWritable(ctx, key);
      const xmlBody = ctx.body.toString('utf8');
      const parts = xmlAll(xmlBody, 'Part').map((p) => ({ n: Number(xmlAll(p, 'PartNumber')[0]), etag: xmlUnescape(xmlAll(p, 'ETag')[0] ?? '').replace(/"/g, '') }));
      if (parts.length === 0) throw err(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
      const bodies: Buffer[] = [];
      const md5s: Buffer[] = [];
      let last = 0;
      for (const p of parts) {
        if (p.n <= last) throw err(400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
        last = p.n;
        const part = u.parts.get(p.n);
        if (!part || part.etag !== p.etag) throw err(400, 'InvalidPart', 'One or more of the specified parts could not be found.');
        bodies.push(part.body);
        md5s.push(Buffer.from(part.etag, 'hex'));
      }
      const etag = `${md5Hex(Buffer.concat(md5s))}-${parts.length}`;
      b.uploads.delete(u.id);
      state.putObject(b, key, { body: Buffer.concat(bodies), etag, contentType: u.contentType, meta: u.meta, mtime: new Date() });
      return xml(
        ctx,
        200,
        `<CompleteMultipartUploadResult xmlns="${S3_NS}">${el('Location', `/${bucket}/${key}`)}${el('Bucket', bucket)}${el('Key', key)}${el('ETag', quoted(etag))}</CompleteMultipartUploadResult>`,
      );
    }
    case 'AbortMultipartUpload': {
      requireAction(ctx, 'Write', key);
      const b = getBucket(ctx);
      const id = query.get('uploadId') ?? '';
      if (!b.uploads.get(id) || b.uploads.get(id)!.key !== key) throw err(404, 'NoSuchUpload');
      b.uploads.delete(id);
      return empty(ctx, 204);
    }
    case 'ListParts': {
      requireAction(ctx, 'Write', key);
      const b = getBucket(ctx);
      const u = b.uploads.get(query.get('uploadId') ?? '');
      if (!u || u.key !== key) throw err(404, 'NoSuchUpload');
      const parts = [...u.parts.entries()].sort((x, y) => x[0] - y[0]);
      return xml(
        ctx,
        200,
        `<ListPartsResult xmlns="${S3_NS}">${el('Bucket', bucket)}${el('Key', key)}${el('UploadId', u.id)}<MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated>${parts
          .map(([n, p]) => `<Part>${el('PartNumber', n)}${el('LastModified', isoDate(p.mtime))}${el('ETag', quoted(p.etag))}${el('Size', p.body.length)}</Part>`)
          .join('')}</ListPartsResult>`,
      );
    }
    default:
      throw err(501, 'NotImplemented', `${ctx.method} ${op} is not implemented by the fake SeaweedFS`);
  }
}

function sendObject(ctx: Ctx, o: FakeObject, headOnly: boolean): void {
  const headers: Record<string, string> = {
    ETag: quoted(o.etag),
    'Last-Modified': httpDate(o.mtime),
    'Content-Type': o.contentType,
    'Accept-Ranges': 'bytes',
    'x-amz-request-id': ctx.reqId,
    ...o.meta,
  };
  let status = 200;
  let data = o.body;
  const range = header(ctx.req, 'range');
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    const size = o.body.length;
    let start: number;
    let end: number;
    if (m && m[1] !== '') {
      start = Number(m[1]);
      end = m[2] !== '' ? Math.min(Number(m[2]), size - 1) : size - 1;
    } else if (m && m[2] !== '') {
      start = Math.max(0, size - Number(m[2]));
      end = size - 1;
    } else {
      start = 0;
      end = -1;
    }
    if (!m || start > end || start >= size) {
      throw err(416, 'InvalidRange', 'The requested range is not satisfiable');
    }
    status = 206;
    data = o.body.subarray(start, end + 1);
    headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  }
  headers['Content-Length'] = String(data.length);
  ctx.res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) ctx.res.setHeader(k, v);
  ctx.res.end(headOnly ? undefined : data);
}

function listObjects(ctx: Ctx, b: FakeBucket, v2: boolean): void {
  const q = ctx.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeysRaw = q.get('max-keys');
  const maxKeys = maxKeysRaw === undefined ? 1000 : Number(maxKeysRaw);
  if (!Number.isInteger(maxKeys) || maxKeys < 0) throw err(400, 'InvalidArgument', 'max-keys must be a non-negative integer');
  const urlEncode = q.get('encoding-type') === 'url';
  const enc = (s: string): string => (urlEncode ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
  const token = q.get('continuation-token');
  let marker: string;
  if (v2) {
    if (token !== undefined) {
      marker = Buffer.from(token, 'base64url').toString('utf8');
      if (!token) throw err(400, 'InvalidArgument', 'The continuation token provided is incorrect');
    } else marker = q.get('start-after') ?? '';
  } else marker = q.get('marker') ?? '';

  const keys = [...b.objects.keys()].filter((k) => k.startsWith(prefix) && k > marker).sort();
  const contents: string[] = [];
  const prefixes: string[] = [];
  let last = '';
  let truncated = false;
  let count = 0;
  for (const k of keys) {
    if (delimiter && marker.endsWith(delimiter) && marker.startsWith(prefix) && k.startsWith(marker)) continue;
    let cp: string | undefined;
    if (delimiter) {
      const i = k.indexOf(delimiter, prefix.length);
      if (i >= 0) cp = k.slice(0, i + delimiter.length);
    }
    if (cp !== undefined && prefixes.includes(cp)) continue;
    if (count >= maxKeys) {
      truncated = true;
      break;
    }
    count++;
    if (cp !== undefined) {
      prefixes.push(cp);
      last = cp;
    } else {
      const o = b.objects.get(k)!;
      contents.push(`<Contents>${el('Key', enc(k))}${el('LastModified', isoDate(o.mtime))}${el('ETag', quoted(o.etag))}${el('Size', o.body.length)}<StorageClass>STANDARD</StorageClass></Contents>`);
      last = k;
    }
  }
  let inner = `${el('Name', b.name)}${el('Prefix', enc(prefix))}`;
  if (v2) {
    inner += `${el('KeyCount', count)}${el('MaxKeys', maxKeys)}`;
    if (delimiter) inner += el('Delimiter', enc(delimiter));
    inner += el('IsTruncated', truncated);
    if (token !== undefined) inner += el('ContinuationToken', token);
    if (truncated) inner += el('NextContinuationToken', Buffer.from(last, 'utf8').toString('base64url'));
    if (q.get('start-after') !== undefined) inner += el('StartAfter', enc(q.get('start-after')!));
  } else {
    inner += `${el('Marker', enc(marker))}${el('MaxKeys', maxKeys)}`;
    if (delimiter) inner += el('Delimiter', enc(delimiter));
    inner += el('IsTruncated', truncated);
    if (truncated) inner += el('NextMarker', enc(last));
  }
  if (urlEncode) inner += el('EncodingType', 'url');
  inner += contents.join('') + prefixes.map((p) => `<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`).join('');
  xml(ctx, 200, `<ListBucketResult xmlns="${S3_NS}">${inner}</ListBucketResult>`);
}

function deleteObjects(ctx: Ctx): void {
  const b = getBucket(ctx);
  const body = ctx.body.toString('utf8');
  if (!body.includes('<Delete')) throw err(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(body);
  const keys = xmlAll(body, 'Object').map((o) => xmlUnescape(xmlAll(o, 'Key')[0] ?? ''));
  if (keys.length > 1000) throw err(400, 'MalformedXML', 'at most 1000 keys per request');
  let out = '';
  for (const k of keys) {
    // Batch delete is authorised per key.
    if (ctx.identity && !ctx.state.canDo(ctx.identity, 'Write', ctx.bucket, k)) {
      out += `<Error>${el('Key', k)}<Code>AccessDenied</Code><Message>Access Denied.</Message></Error>`;
      continue;
    }
    ctx.state.removeObject(b, k);
    if (!quiet) out += `<Deleted>${el('Key', k)}</Deleted>`;
  }
  xml(ctx, 200, `<DeleteResult xmlns="${S3_NS}">${out}</DeleteResult>`);
}

function copyObject(ctx: Ctx): void {
  const { state, key } = ctx;
  requireAction(ctx, 'Write', key);
  const dest = getBucket(ctx);
  const rawSource = header(ctx.req, 'x-amz-copy-source') ?? '';
  const source = safeDecode(rawSource.split('?')[0]!).replace(/^\//, '');
  const i = source.indexOf('/');
  if (i <= 0) throw err(400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
  const srcBucketName = source.slice(0, i);
  const srcKey = source.slice(i + 1);
  if (ctx.identity && !state.canDo(ctx.identity, 'Read', srcBucketName, srcKey)) throw err(403, 'AccessDenied');
  const srcBucket = state.buckets.get(srcBucketName);
  if (!srcBucket) throw err(404, 'NoSuchBucket');
  const src = srcBucket.objects.get(srcKey);
  if (!src) throw err(404, 'NoSuchKey');
  checkWritable(ctx, key);
  const replace = header(ctx.req, 'x-amz-metadata-directive') === 'REPLACE';
  const obj: FakeObject = {
    body: Buffer.from(src.body),
    etag: md5Hex(src.body),
    contentType: replace ? (header(ctx.req, 'content-type') ?? 'application/octet-stream') : src.contentType,
    meta: replace ? userMeta(ctx.req) : { ...src.meta },
    mtime: new Date(),
  };
  state.putObject(dest, key, obj);
  xml(ctx, 200, `<CopyObjectResult xmlns="${S3_NS}">${el('LastModified', isoDate(obj.mtime))}${el('ETag', quoted(obj.etag))}</CopyObjectResult>`);
}
