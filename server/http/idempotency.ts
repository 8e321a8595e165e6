/**
 * `Idempotency-Key` support: the first request with a key is recorded with a hash of its method,
 * path and body; a retry with the same key and request replays the stored response, a retry
 * with a different request is a 422, and one that arrives while the first is running is a 409.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { ApiError, errors } from '../lib/errors.js';

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
export async function withIdempotencyKey(db: Knex, scope: { actor: string; key: string; method: string; path: string; body: unknown }, fn: () => Promise<StoredResponse>): Promise<StoredResponse> {
  const requestHash = hashRequest({ method: scope.method, path: scope.path, body: scope.body });
  const claimed = (await db('idempotency_keys')
    .insert({ actor_sub: scope.actor, key: scope.key, method: scope.method, path: scope.path, request_hash: requestHash })
    .onConflict(['actor_sub', 'key'])
    .ignore()
    .returning('key')) as unknown[];
  if (claimed.length === 0) {
    const row = (await db('idempotency_keys').where({ actor_sub: scope.actor, key: scope.key }).first()) as { request_hash: string; status: number | null; response: unknown } | undefined;
    if (!row || row.request_hash !== requestHash) throw errors.idempotencyKeyReused();
    if (row.status === null) throw errors.idempotencyInProgress();
    return { status: row.status, body: row.response };
  }
  const release = () => db('idempotency_keys').where({ actor_sub: scope.actor, key: scope.key }).delete();
  let result: StoredResponse;
  try {
    result = await fn();
  } catch (err) {
    if (err instanceof ApiError && err.status < 500) {
      await store({ status: -1, body: err });
    } else {
      await release();
    }
    throw err;
  }
  await store(result);
  return result;

  async function store(r: { status: number; body: unknown }): Promise<void> {
    // A stored client error is replayed by re-raising the same catalog error.
    const body = r.body instanceof ApiError ? { $error: { status: r.body.status, code: r.body.code, title: r.body.title, detail: r.body.message, extra: r.body.extra } } : r.body;
    await db('idempotency_keys')
      .where({ actor_sub: scope.actor, key: scope.key })
      .update({ status: r.body instanceof ApiError ? r.body.status : r.status, response: JSON.stringify(body) });
  }
}

/** If a replayed body is a stored error, re-raise it; otherwise return it unchanged. */
export function replayOrThrow(r: StoredResponse): StoredResponse {
  const e = (r.body as { $error?: { status: number; code: string; title: string; detail: string; extra: Record<string, unknown> } })?.$error;
  if (e) throw new ApiError(e.status, e.code, e.title, e.detail, e.extra);
  return r;
}
