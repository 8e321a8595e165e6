/**
 * The filer HTTP port of the fake (design/seaweedfs.md §3.4, §4.1): plain files (filer.conf and
 * anything else PUT here), a view of the S3 buckets under `/buckets/`, JSON directory listings,
 * `?metadata=true`, recursive delete, and read-only location rules (writes → 507).
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { readBody, send, sendJson, splitTarget } from './http.js';
import { parseQuery, safeDecode } from './sigv4.js';
import { FakeState, FILER_CONF_PATH, md5Hex, wildcardMatch, type FakeCall } from './state.js';

const DIR_MODE = 0x80000000 + 0o755; // os.ModeDir | 0755
const FILE_MODE = 0o660;
const DEFAULT_LIMIT = 100_000;

interface Node {
  isDir: boolean;
  size: number;
  mime: string;
  mtime: Date;
  crtime: Date;
  body?: Buffer;
  etag?: string;
}

const normalize = (p: string): string => {
  const collapsed = `/${p
    .split('/')
    .filter((s) => s.length > 0)
    .join('/')}`;
  return collapsed;
};

function entryJson(fullPath: string, n: Node): Record<string, unknown> {
  return {
    FullPath: fullPath,
    Mtime: n.mtime.toISOString(),
    Crtime: n.crtime.toISOString(),
    Mode: n.isDir ? DIR_MODE : FILE_MODE,
    Uid: 0,
    Gid: 0,
    Mime: n.mime,
    TtlSec: 0,
    UserName: '',
    GroupNames: null,
    SymlinkTarget: '',
    Md5: n.body && !n.isDir ? createHash('md5').update(n.body).digest('base64') : null,
    FileSize: n.isDir ? 0 : n.size,
    Rdev: 0,
    Inode: 0,
    Extended: null,
    HardLinkId: null,
    HardLinkCounter: 0,
    Content: null,
    Remote: null,
    Quota: 0,
  };
}

/** Children of a directory: name → node. */
function children(state: FakeState, dir: string): Map<string, Node> {
  const out = new Map<string, Node>();
  const prefix = dir === '/' ? '/' : `${dir}/`;
  const now = new Date(0);
  const addDir = (name: string, mtime = now): void => {
    if (!out.has(name)) out.set(name, { isDir: true, size: 0, mime: '', mtime, crtime: mtime });
  };
  for (const [p, f] of state.files) {
    if (!p.startsWith(prefix)) continue;
    const rest = p.slice(prefix.length);
    const i = rest.indexOf('/');
    if (i < 0) out.set(rest, { isDir: false, size: f.body.length, mime: f.mime, mtime: f.mtime, crtime: f.crtime, body: f.body, etag: md5Hex(f.body) });
    else addDir(rest.slice(0, i), f.mtime);
  }
  for (const d of state.dirs) {
    if (!d.startsWith(prefix)) continue;
    const rest = d.slice(prefix.length);
    if (rest) addDir(rest.split('/')[0]!);
  }
  if (dir === '/') addDir('buckets');
  if (dir === '/buckets') for (const b of state.buckets.values()) addDir(b.name, b.created);
  const bp = FakeState.splitBucketPath(dir);
  const bucket = bp && state.buckets.get(bp.bucket);
  if (bp && bucket) {
    const keyPrefix = bp.key ? `${bp.key}/` : '';
    for (const [k, o] of bucket.objects) {
      if (!k.startsWith(keyPrefix)) continue;
      const rest = k.slice(keyPrefix.length);
      if (!rest) continue;
      const i = rest.indexOf('/');
      if (i < 0) out.set(rest, { isDir: false, size: o.body.length, mime: o.contentType, mtime: o.mtime, crtime: o.mtime, body: o.body, etag: o.etag });
      else if (i > 0) addDir(rest.slice(0, i), o.mtime);
    }
  }
  return out;
}

function lookup(state: FakeState, p: string): Node | undefined {
  if (p === '/' || p === '/buckets') return { isDir: true, size: 0, mime: '', mtime: new Date(0), crtime: new Date(0) };
  const f = state.files.get(p);
  if (f) return { isDir: false, size: f.body.length, mime: f.mime, mtime: f.mtime, crtime: f.crtime, body: f.body, etag: md5Hex(f.body) };
  const bp = FakeState.splitBucketPath(p);
  if (bp) {
    const b = state.buckets.get(bp.bucket);
    if (!b) return undefined;
    if (!bp.key) return { isDir: true, size: 0, mime: '', mtime: b.created, crtime: b.created };
    const o = b.objects.get(bp.key);
    if (o) return { isDir: false, size: o.body.length, mime: o.contentType, mtime: o.mtime, crtime: o.mtime, body: o.body, etag: o.etag };
  }
  if (state.dirs.has(p) || children(state, p).size > 0) return { isDir: true, size: 0, mime: '', mtime: new Date(0), crtime: new Date(0) };
  return undefined;
}

/** First file part of a multipart/form-data body (the filer's POST upload form). */
function firstFormPart(body: Buffer, contentType: string): { data: Buffer; mime: string } | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return undefined;
  const delim = Buffer.from(`--${boundary}`);
  const start = body.indexOf(delim);
  if (start < 0) return undefined;
  const headerStart = start + delim.length + 2;
  const headerEnd = body.indexOf('\r\n\r\n', headerStart);
  if (headerEnd < 0) return undefined;
  const headers = body.subarray(headerStart, headerEnd).toString('utf8');
  const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd + 4);
  if (next < 0) return undefined;
  const mime = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim() ?? 'application/octet-stream';
  return { data: body.subarray(headerEnd + 4, next), mime };
}

export function filerHandler(state: FakeState): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    handle(state, req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(e) });
      else res.destroy();
    });
  };
}

async function handle(state: FakeState, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const { rawPath, rawQuery } = splitTarget(req.url);
  const decoded = rawPath.split('/').map(safeDecode).join('/');
  const trailingSlash = decoded.endsWith('/') && decoded !== '/';
  const path = normalize(decoded);
  const query = new Map(parseQuery(rawQuery));
  const body = await readBody(req);
  const call: FakeCall = { service: 'filer', method, path: decoded, query: rawQuery };
  state.calls.push(call);
  res.on('finish', () => {
    call.status = res.statusCode;
  });
  const fault = state.takeFault('filer');
  if (fault !== undefined) return sendJson(res, fault, { error: 'injected fault' });

  switch (method) {
    case 'GET':
    case 'HEAD': {
      const node = lookup(state, path);
      if (!node) return send(res, 404, undefined);
      if (query.get('metadata') === 'true') return sendJson(res, 200, entryJson(path, node));
      if (!node.isDir) {
        const headers: Record<string, string> = {
          'Content-Type': node.mime || 'application/octet-stream',
          ETag: `"${node.etag ?? ''}"`,
          'Last-Modified': node.mtime.toUTCString(),
          'Accept-Ranges': 'bytes',
          'Content-Length': String(node.size),
        };
        res.statusCode = 200;
        for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
        res.end(method === 'HEAD' ? undefined : node.body);
        return;
      }
      return listDir(state, req, res, path, query, method === 'HEAD');
    }
    case 'PUT':
    case 'POST': {
      const contentType = (req.headers['content-type'] ?? '').toString();
      if (trailingSlash) {
        return mkdir(state, res, path);
      }
      let data = body;
      let mime = contentType;
      if (contentType.toLowerCase().startsWith('multipart/form-data')) {
        const part = firstFormPart(body, contentType);
        if (!part) return sendJson(res, 400, { error: 'malformed multipart body' });
        data = part.data;
        mime = part.mime;
      }
      if (state.isReadOnly(path)) return sendJson(res, 507, { error: `${path}: read only` });
      if (path === FILER_CONF_PATH) {
        try {
          state.setFilerConf(data);
        } catch (e) {
          return sendJson(res, 400, { error: `invalid filer.conf: ${(e as Error).message}` });
        }
      }
      const bp = FakeState.splitBucketPath(path);
      if (bp) {
        if (!bp.key) return sendJson(res, 409, { error: `${path} is a directory` });
        const bucket = state.buckets.get(bp.bucket) ?? state.createBucket(bp.bucket);
        state.putObject(bucket, bp.key, { body: data, etag: md5Hex(data), contentType: mime || 'application/octet-stream', meta: {}, mtime: new Date() });
      } else {
        const old = state.files.get(path);
        const now = new Date();
        state.files.set(path, { body: data, mime, mtime: now, crtime: old?.crtime ?? now });
      }
      return sendJson(res, 201, { name: path.slice(path.lastIndexOf('/') + 1), size: data.length }, { ETag: `"${md5Hex(data)}"` });
    }
    case 'DELETE':
      return remove(state, res, path, query.get('recursive') === 'true');
    default:
      return sendJson(res, 405, { error: `method ${method} not allowed` });
  }
}

function mkdir(state: FakeState, res: http.ServerResponse, path: string): void {
  if (state.isReadOnly(`${path}/`)) return sendJson(res, 507, { error: `${path}: read only` });
  const bp = FakeState.splitBucketPath(path);
  if (bp && !bp.key) {
    if (!state.buckets.has(bp.bucket)) state.createBucket(bp.bucket);
  } else {
    state.dirs.add(path);
  }
  return sendJson(res, 201, {});
}

function listDir(state: FakeState, req: http.IncomingMessage, res: http.ServerResponse, path: string, query: Map<string, string>, headOnly: boolean): void {
  const limit = Number(query.get('limit') ?? DEFAULT_LIMIT) || DEFAULT_LIMIT;
  const last = query.get('lastFileName') ?? '';
  const pattern = query.get('namePattern');
  const exclude = query.get('namePatternExclude');
  const kids = [...children(state, path).entries()]
    .filter(([name]) => name > last)
    .filter(([name]) => (pattern ? wildcardMatch(pattern, name) : true))
    .filter(([name]) => (exclude ? !wildcardMatch(exclude, name) : true))
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const page = kids.slice(0, limit);
  const accept = (req.headers.accept ?? '').toString();
  const listing = {
    Path: path,
    // Go marshals an empty slice that was never appended to as null.
    Entries: page.length === 0 ? null : page.map(([name, n]) => entryJson(path === '/' ? `/${name}` : `${path}/${name}`, n)),
    Limit: limit,
    LastFileName: page.length > 0 ? page[page.length - 1]![0] : '',
    ShouldDisplayLoadMore: kids.length > page.length,
    EmptyFolder: kids.length === 0 && last === '',
  };
  if (accept.includes('application/json')) {
    if (headOnly) return send(res, 200, undefined, { 'Content-Type': 'application/json' });
    return sendJson(res, 200, listing);
  }
  const html = `<!DOCTYPE html><html><body><h1>${path}</h1><ul>${page.map(([name]) => `<li>${name}</li>`).join('')}</ul></body></html>`;
  return send(res, 200, headOnly ? undefined : html, { 'Content-Type': 'text/html; charset=utf-8' });
}

function remove(state: FakeState, res: http.ServerResponse, path: string, recursive: boolean): void {
  const node = lookup(state, path);
  // A missing entry is not an error (idempotent delete).
  if (!node) return send(res, 204, undefined);
  const nonEmpty = node.isDir && children(state, path).size > 0;
  if (nonEmpty && !recursive) return sendJson(res, 500, { error: `fail to delete non-empty folder: ${path}` });
  const bp = FakeState.splitBucketPath(path);
  if (bp) {
    const bucket = state.buckets.get(bp.bucket);
    if (bucket) {
      if (!bp.key) {
        // Deleting the bucket directory drops the bucket and its collection.
        state.deleteBucket(bp.bucket);
      } else if (!node.isDir) {
        state.removeObject(bucket, bp.key);
      } else {
        for (const k of [...bucket.objects.keys()]) if (k.startsWith(`${bp.key}/`)) state.removeObject(bucket, k);
      }
    }
  }
  if (state.files.delete(path) && path === FILER_CONF_PATH) state.rules = [];
  if (node.isDir) {
    for (const p of [...state.files.keys()]) if (p.startsWith(`${path}/`)) state.files.delete(p);
    if (path === '/etc/seaweedfs' || path === '/etc' || path === '/') state.rules = state.files.has(FILER_CONF_PATH) ? state.rules : [];
    for (const d of [...state.dirs]) if (d === path || d.startsWith(`${path}/`)) state.dirs.delete(d);
  }
  return send(res, 204, undefined);
}
