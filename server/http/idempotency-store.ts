/**
 * The `idempotency_keys` table behind {@link withIdempotencyKey}: one row per (actor, key), with
 * the request's hash and, once answered, the response to replay. `KnexIdempotencyStore` is the
 * PostgreSQL implementation the composition root injects into the routes that take keys.
 */
import type { Knex } from 'knex';

/** A recorded key: the request it was first used for, and its answer once there is one. */
export interface IdempotencyRecord {
  requestHash: string;
  /** null while the first request is still running. */
  status: number | null;
  response: unknown;
}

/** The key of a request: who sent it and the key they chose. */
export interface IdempotencyScope {
  actor: string;
  key: string;
}

/** Idempotency keys. */
export interface IdempotencyStore {
  /** Records the key for this request; false when it was recorded before (by this or another request). */
  claim(scope: IdempotencyScope, r: { method: string; path: string; requestHash: string }): Promise<boolean>;
  find(scope: IdempotencyScope): Promise<IdempotencyRecord | undefined>;
  /** Stores the answer to replay. */
  answer(scope: IdempotencyScope, status: number, response: unknown): Promise<void>;
  /** Forgets the key (the request failed on the server's side: the client may retry it). */
  release(scope: IdempotencyScope): Promise<void>;
}

/** Idempotency keys in PostgreSQL. */
export class KnexIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: Knex) {}

  async claim(s: IdempotencyScope, r: { method: string; path: string; requestHash: string }): Promise<boolean> {
    const claimed = (await this.db('idempotency_keys')
      .insert({ actor_sub: s.actor, key: s.key, method: r.method, path: r.path, request_hash: r.requestHash })
      .onConflict(['actor_sub', 'key'])
      .ignore()
      .returning('key')) as unknown[];
    return claimed.length > 0;
  }

  async find(s: IdempotencyScope): Promise<IdempotencyRecord | undefined> {
    const row = (await this.db('idempotency_keys').where({ actor_sub: s.actor, key: s.key }).first()) as { request_hash: string; status: number | null; response: unknown } | undefined;
    return row && { requestHash: row.request_hash, status: row.status, response: row.response };
  }

  async answer(s: IdempotencyScope, status: number, response: unknown): Promise<void> {
    await this.db('idempotency_keys')
      .where({ actor_sub: s.actor, key: s.key })
      .update({ status, response: JSON.stringify(response) });
  }

  async release(s: IdempotencyScope): Promise<void> {
    await this.db('idempotency_keys').where({ actor_sub: s.actor, key: s.key }).delete();
  }
}
