/**
 * The transaction plumbing the in-memory stores (fake-*-store.ts) share: a transaction that puts
 * the store's state back when its function throws, as PostgreSQL's rollback would, and the audit
 * rows its units of work write. Each fake keeps its state in fields of its own and says how to
 * copy them; only the copying and putting back live here. (Not named fake-*: the lint keeps each
 * feature off other features' fake-* files, and this one is for all of them.)
 */
import type { Actor, AuditInput } from '../audit/audit-log.js';
import type { Db } from '../db/database.js';

/** Audit rows written through a fake store's units of work, in order. */
export type FakeAuditRows = Array<{ actor: Actor } & AuditInput>;

/** The transaction handle fake units of work carry: fake read models ignore it. */
export const FAKE_TRX = Object.freeze({ fake: 'transaction' }) as unknown as Db;

/** A copy of a Map with each value copied by `copy` (rows a transaction may change in place). */
export const copyMap = <K, V>(m: ReadonlyMap<K, V>, copy: (v: V) => V): Map<K, V> => new Map([...m].map(([k, v]) => [k, copy(v)]));

/**
 * Runs `fn` as a transaction of `store`. `save` copies the fields `fn` may change, keyed by their
 * names on the store (private ones too); the store's audit rows are copied with them. When `fn`
 * throws, every copy is put back and the error rethrown; when it returns, its writes stay.
 */
export async function fakeTransaction<T>(store: { audits: FakeAuditRows }, save: () => object, fn: () => Promise<T>): Promise<T> {
  const saved = { ...save(), audits: [...store.audits] };
  try {
    return await fn();
  } catch (err) {
    Object.assign(store, saved);
    throw err;
  }
}

/** A unit of work's `audit`: appends to the store's rows, read at each call (a test may replace the array). */
export const fakeAudit =
  (store: { audits: FakeAuditRows }) =>
  async (actor: Actor, e: AuditInput): Promise<void> =>
    void store.audits.push({ actor, ...e });
