/**
 * AWS Signature Version 4 verification for the fake SeaweedFS S3/IAM port, written from the AWS
 * SigV4 description (canonical request → string to sign → HMAC chain). Region and service come
 * from the credential scope, as SeaweedFS does, so the same code checks `s3` and `iam` requests.
 * Also decodes `aws-chunked` bodies (signed chunks, unsigned chunks with trailers) and checks
 * chunk and trailer signatures.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
/** Requests whose x-amz-date is further than this from the fake's clock are refused. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 percent-encoding (encodeURIComponent leaves !'()* alone; SigV4 does not). */
export function escapeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

export interface AuthInfo {
  kind: 'header' | 'query';
  accessKey: string;
  /** YYYYMMDD from the scope. */
  date: string;
  region: string;
  service: string;
  /** `<date>/<region>/<service>/aws4_request` */
  scope: string;
  /** x-amz-date (ISO basic, e.g. 20260101T000000Z). */
  amzDate: string;
  signedHeaders: string[];
  signature: string;
  /** Presigned URLs only: X-Amz-Expires seconds. */
  expires?: number;
}

export interface AuthError {
  code: 'AuthorizationHeaderMalformed' | 'AuthorizationQueryParametersError' | 'AccessDenied' | 'MissingSecurityHeader';
  message: string;
}

/** Raw query string → [decodedKey, decodedValue] pairs, in order. */
export function parseQuery(rawQuery: string): [string, string][] {
  if (!rawQuery) return [];
  return rawQuery
    .split('&')
    .filter((p) => p.length > 0)
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [safeDecode(p), ''] : [safeDecode(p.slice(0, i)), safeDecode(p.slice(i + 1))];
    });
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function parseScope(credential: string): { accessKey: string; date: string; region: string; service: string; scope: string } | undefined {
  const parts = credential.split('/');
  if (parts.length < 5 || parts[parts.length - 1] !== 'aws4_request') return undefined;
  // The access key itself cannot contain '/', but be lenient and join everything before the scope.
  const tail = parts.slice(-4);
  const accessKey = parts.slice(0, -4).join('/');
  const [date, region, service] = tail as [string, string, string, string];
  if (!accessKey || !/^\d{8}$/.test(date)) return undefined;
  return { accessKey, date, region, service, scope: tail.join('/') };
}

/**
 * Extract SigV4 parameters from the Authorization header or presigned query. Returns `null` when
 * the request carries no credentials at all (anonymous).
 */
export function parseAuth(headers: IncomingHttpHeaders, query: [string, string][]): AuthInfo | AuthError | null {
  const authz = header(headers, 'authorization');
  if (authz) {
    if (!authz.startsWith(`${ALGORITHM} `)) {
      return { code: 'AccessDenied', message: 'Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported' };
    }
    const fields: Record<string, string> = {};
    for (const part of authz.slice(ALGORITHM.length + 1).split(',')) {
      const t = part.trim();
      const i = t.indexOf('=');
      if (i > 0) fields[t.slice(0, i)] = t.slice(i + 1);
    }
    const cred = fields.Credential ? parseScope(fields.Credential) : undefined;
    if (!cred || !fields.SignedHeaders || !fields.Signature) {
      return { code: 'AuthorizationHeaderMalformed', message: 'The authorization header is malformed' };
    }
    const amzDate = header(headers, 'x-amz-date') ?? '';
    if (!/^\d{8}T\d{6}Z$/.test(amzDate)) {
      return { code: 'MissingSecurityHeader', message: 'Your request was missing a required header: x-amz-date' };
    }
    return { kind: 'header', ...cred, amzDate, signedHeaders: fields.SignedHeaders.split(';'), signature: fields.Signature };
  }
  const q = new Map(query);
  if (q.get('X-Amz-Algorithm') !== undefined) {
    const cred = parseScope(q.get('X-Amz-Credential') ?? '');
    const amzDate = q.get('X-Amz-Date') ?? '';
    const signature = q.get('X-Amz-Signature');
    const signedHeaders = q.get('X-Amz-SignedHeaders');
    const expires = Number(q.get('X-Amz-Expires') ?? '');
    if (q.get('X-Amz-Algorithm') !== ALGORITHM || !cred || !signature || !signedHeaders || !/^\d{8}T\d{6}Z$/.test(amzDate) || !Number.isInteger(expires)) {
      return { code: 'AuthorizationQueryParametersError', message: 'Query-string authentication parameters are malformed' };
    }
    return { kind: 'query', ...cred, amzDate, signedHeaders: signedHeaders.split(';'), signature, expires };
  }
  return null;
}

/** ISO basic (20260101T000000Z) → epoch ms. */
export function amzDateToMs(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return Number.NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

function canonicalUri(rawPath: string, service: string): string {
  if (service === 's3') return rawPath || '/';
  // Other services: normalise, then URI-encode the (already encoded) path once more.
  const segs: string[] = [];
  for (const s of rawPath.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segs.pop();
    else segs.push(s);
  }
  const norm = `${rawPath.startsWith('/') ? '/' : ''}${segs.join('/')}${segs.length > 0 && rawPath.endsWith('/') ? '/' : ''}`;
  return escapeRfc3986(norm).replace(/%2F/g, '/');
}

function canonicalQuery(query: [string, string][], dropSignature: boolean): string {
  return query
    .filter(([k]) => !(dropSignature && k === 'X-Amz-Signature'))
    .map(([k, v]) => [escapeRfc3986(k), escapeRfc3986(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function canonicalHeaders(headers: IncomingHttpHeaders, signed: string[]): string {
  return signed.map((name) => `${name}:${(header(headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
}

export interface VerifyInput {
  method: string;
  rawPath: string;
  query: [string, string][];
  headers: IncomingHttpHeaders;
  body: Buffer;
  auth: AuthInfo;
  secretKey: string;
}

export interface VerifyResult {
  ok: boolean;
  /** The payload hash that was signed (hex, UNSIGNED-PAYLOAD or STREAMING-…). */
  payloadHash: string;
  signingKey: Buffer;
  canonicalRequest: string;
}

export function verifySignature(input: VerifyInput): VerifyResult {
  const { auth } = input;
  let payloadHash: string;
  if (auth.kind === 'query') payloadHash = header(input.headers, 'x-amz-content-sha256') ?? 'UNSIGNED-PAYLOAD';
  else payloadHash = header(input.headers, 'x-amz-content-sha256') ?? sha256Hex(input.body);
  const canonicalRequest = [
    input.method,
    canonicalUri(input.rawPath, auth.service),
    canonicalQuery(input.query, auth.kind === 'query'),
    canonicalHeaders(input.headers, auth.signedHeaders),
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const stringToSign = [ALGORITHM, auth.amzDate, auth.scope, sha256Hex(canonicalRequest)].join('\n');
  const key = signingKey(input.secretKey, auth.date, auth.region, auth.service);
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  return { ok: hexEqual(expected, auth.signature), payloadHash, signingKey: key, canonicalRequest };
}

export function hexEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b.toLowerCase(), 'utf8');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

export interface ChunkedInput {
  body: Buffer;
  /** True for STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: every chunk carries a signature. */
  signed: boolean;
  seedSignature: string;
  signingKey: Buffer;
  amzDate: string;
  scope: string;
}

export type ChunkedResult = { ok: true; data: Buffer; trailers: Record<string, string> } | { ok: false; code: 'IncompleteBody' | 'SignatureDoesNotMatch'; message: string };

/** Decode an `aws-chunked` body, checking chunk (and trailer) signatures when signed. */
export function decodeAwsChunked(input: ChunkedInput): ChunkedResult {
  const { body } = input;
  const parts: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let pos = 0;
  let prev = input.seedSignature;
  const readLine = (): string | undefined => {
    const end = body.indexOf('\r\n', pos);
    if (end < 0) return undefined;
    const line = body.subarray(pos, end).toString('latin1');
    pos = end + 2;
    return line;
  };
  const bad = (message: string): ChunkedResult => ({ ok: false, code: 'IncompleteBody', message });
  for (;;) {
    const line = readLine();
    if (line === undefined) return bad('chunk header missing');
    const [sizeHex, ...exts] = line.split(';');
    const size = Number.parseInt(sizeHex ?? '', 16);
    if (!Number.isFinite(size) || size < 0) return bad(`bad chunk size ${JSON.stringify(sizeHex)}`);
    const chunk = body.subarray(pos, pos + size);
    if (chunk.length !== size) return bad('chunk shorter than declared');
    pos += size;
    if (input.signed) {
      const sigExt = exts.find((e) => e.startsWith('chunk-signature='));
      if (!sigExt) return bad('chunk-signature missing');
      const sts = ['AWS4-HMAC-SHA256-PAYLOAD', input.amzDate, input.scope, prev, EMPTY_SHA256, sha256Hex(chunk)].join('\n');
      const expected = createHmac('sha256', input.signingKey).update(sts, 'utf8').digest('hex');
      const got = sigExt.slice('chunk-signature='.length);
      if (!hexEqual(expected, got)) return { ok: false, code: 'SignatureDoesNotMatch', message: 'chunk signature does not match' };
      prev = got;
    }
    if (size === 0) break;
    parts.push(chunk);
    if (body.subarray(pos, pos + 2).toString('latin1') !== '\r\n') return bad('chunk not terminated by CRLF');
    pos += 2;
  }
  // After the 0-size chunk: either "\r\n" (no trailers) or trailer lines then "\r\n".
  let trailerSig: string | undefined;
  const trailerLines: string[] = [];
  for (;;) {
    if (pos >= body.length) break;
    const line = readLine();
    if (line === undefined || line === '') break;
    const i = line.indexOf(':');
    if (i < 0) return bad('malformed trailer');
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (name === 'x-amz-trailer-signature') trailerSig = value;
    else {
      trailers[name] = value;
      trailerLines.push(`${name}:${value}\n`);
    }
  }
  if (input.signed && trailerLines.length > 0) {
    if (!trailerSig) return bad('x-amz-trailer-signature missing');
    const sts = ['AWS4-HMAC-SHA256-TRAILER', input.amzDate, input.scope, prev, sha256Hex(trailerLines.join(''))].join('\n');
    const expected = createHmac('sha256', input.signingKey).update(sts, 'utf8').digest('hex');
    if (!hexEqual(expected, trailerSig)) return { ok: false, code: 'SignatureDoesNotMatch', message: 'trailer signature does not match' };
  }
  return { ok: true, data: Buffer.concat(parts), trailers };
}
