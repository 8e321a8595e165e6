/**
 * `Idempotency-Key` support: the first request with a key is recorded with a hash of its method,
 * path and body; a retry with the same key and request replays the stored response, a retry
 * with a different request is a 422, and one that arrives while the first is running is a 409.
 */
import { createHash } from 'node:crypto';
import { ApiError, errors } from '../lib/errors.js';
import type { IdempotencyStore } from './idempotency-store.js';

/** A response recorded for replay. */
export interface StoredResponse {
  status: number;
  body: unknown;
}

/** Stable SHA-256 of a JSON value (object keys sorted), used to compare requests. */
export function hashRequest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(typeof v === 'bigint' ? v.toString() : v);
}

/**
 * Runs `fn` at most once per (actor, key). Client errors (4xx) are stored and replayed like
 * successes; server errors release the key so the client can retry.
 */
export async function withIdempotencyKey(
  store: IdempotencyStore,
  scope: { actor: string; key: string; method: string; path: string; body: unknown },
  fn: () => Promise<StoredResponse>,
): Promise<StoredResponse> {
  const requestHash = hashRequest({ method: scope.method, path: scope.path, body: scope.body });
  if (!(await store.claim(scope, { method: scope.method, path: scope.path, requestHash }))) {
    const row = await store.find(scope);
    if (!row || row.requestHash !== requestHash) throw errors.idempotencyKeyReused();
    if (row.status === null) throw errors.idempotencyInProgress();
    return { status: row.status, body: row.response };
  }
  let result: StoredResponse;
  try {
    result = await fn();
  } catch (err) {
    if (err instanceof ApiError && err.status < 500) {
      await record({ status: -1, body: err });
    } else {
      await store.release(scope);
    }
    throw err;
  }
  await record(result);
  return result;

  async function record(r: { status: number; body: unknown }): Promise<void> {
    // A stored client error is replayed by re-raising the same catalog error.
    const body = r.body instanceof ApiError ? { $error: { status: r.body.status, code: r.body.code, title: r.body.title, detail: r.body.message, extra: r.body.extra } } : r.body;
    await store.answer(scope, r.body instanceof ApiError ? r.body.status : r.status, body);
  }
}

/** If a replayed body is a stored error, re-raise it; otherwise return it unchanged. */
export function replayOrThrow(r: StoredResponse): StoredResponse {
  const e = (r.body as { $error?: { status: number; code: string; title: string; detail: string; extra: Record<string, unknown> } })?.$error;
  if (e) throw new ApiError(e.status, e.code, e.title, e.detail, e.extra);
  return r;
}
