/**
 * The ordered-KV contract every engine must honour (memory fake, local SQLite, etcd, TiKV).
 * Each test works under its own random key prefix, so one engine instance serves the suite.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvConflictError, compareKeys, hexKey, prefixEnd, type KvEngine, type KvPair } from '../../server/engines/kv.js';

/** Creates the engine under test; `close` is called after the suite. */
export type EngineFactory = () => Promise<KvEngine>;

const b = (...parts: Array<string | number[] | Uint8Array>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p as Uint8Array))));

async function collect(it: AsyncIterable<KvPair>): Promise<KvPair[]> {
  const out: KvPair[] = [];
  for await (const p of it) out.push(p);
  return out;
}

async function putAll(engine: KvEngine, pairs: Array<[Uint8Array, Uint8Array]>): Promise<void> {
  // Small transactions: etcd refuses more than 128 operations in one.
  for (let i = 0; i < pairs.length; i += 100) {
    await engine.txn(async (t) => {
      for (const [k, v] of pairs.slice(i, i + 100)) t.put(k, v);
    });
  }
}

/** Registers the contract suite for one engine. */
export function kvEngineContract(name: string, factory: EngineFactory, opts: { skip?: boolean } = {}): void {
  describe.skipIf(opts.skip)(`KvEngine contract: ${name}`, () => {
    let engine: KvEngine;
    let p: Buffer; // this test's private prefix
    beforeAll(async () => {
      engine = await factory();
    });
    afterAll(async () => {
      await engine?.close();
    });
    const fresh = () => (p = b('t', randomBytes(6), [0xfd]));
    const range = (): [Buffer, Buffer] => [p, Buffer.from(prefixEnd(p))];

    it('gets what was put, and undefined for a missing key', async () => {
      fresh();
      await putAll(engine, [[b(p, 'a'), b('1')]]);
      expect(Buffer.from((await engine.get(b(p, 'a')))!)).toEqual(b('1'));
      expect(await engine.get(b(p, 'missing'))).toBeUndefined();
    });

    it('orders binary keys as unsigned bytes, 0x00 and 0xFF inside keys included', async () => {
      fresh();
      const keys = [[0x00], [0x00, 0x00], [0x00, 0xff], [0x01], [0x7f], [0x80], [0xfe, 0x00], [0xff], [0xff, 0x00], [0xff, 0xff], [0xff, 0xff, 0xff]];
      const shuffled = [...keys].sort(() => Math.random() - 0.5);
      await putAll(
        engine,
        shuffled.map((k) => [b(p, k), b(String(k))]),
      );
      const got = await collect(engine.scan(...range()));
      expect(got.map((x) => [...x.key.subarray(p.length)])).toEqual(keys);
      expect(got.map((x) => Buffer.from(x.value).toString())).toEqual(keys.map(String));
    });

    it('pages across page boundaries without loss or duplicates, and honours limit', async () => {
      fresh();
      const keys = Array.from({ length: 53 }, (_, i) => b(p, [i >> 8, i & 0xff]));
      await putAll(
        engine,
        keys.map((k) => [k, k]),
      );
      for (const pageSize of [1, 7, 52, 53, 54, 1000]) {
        const got = await collect(engine.scan(...range(), { pageSize }));
        expect(got.map((x) => hexKey(x.key))).toEqual(keys.map(hexKey));
      }
      const limited = await collect(engine.scan(...range(), { pageSize: 7, limit: 20 }));
      expect(limited.map((x) => hexKey(x.key))).toEqual(keys.slice(0, 20).map(hexKey));
      const keysOnly = await collect(engine.scan(...range(), { pageSize: 10, keysOnly: true }));
      expect(keysOnly).toHaveLength(53);
      expect(keysOnly.every((x) => x.value.length === 0)).toBe(true);
    });

    it('scans sub-ranges exactly: start inclusive, end exclusive', async () => {
      fresh();
      const keys = ['a', 'b', 'ba', 'bb', 'c'].map((s) => b(p, s));
      await putAll(
        engine,
        keys.map((k) => [k, k]),
      );
      const got = await collect(engine.scan(b(p, 'b'), b(p, 'bb')));
      expect(got.map((x) => Buffer.from(x.key.subarray(p.length)).toString())).toEqual(['b', 'ba']);
    });

    it('returns nothing for empty ranges', async () => {
      fresh();
      await putAll(engine, [[b(p, 'm'), b('x')]]);
      expect(await collect(engine.scan(b(p, 'n'), b(p, 'z')))).toEqual([]);
      expect(await collect(engine.scan(b(p, 'm'), b(p, 'm')))).toEqual([]);
      expect(await collect(engine.scan(b(p, 'a'), b(p, 'b')))).toEqual([]);
    });

    it('scans to the end of the keyspace with an empty end key', async () => {
      fresh();
      const high = b([0xff, 0xff, 0xfe], randomBytes(4));
      await putAll(engine, [[high, b('top')]]);
      const got = await collect(engine.scan(high, new Uint8Array(0)));
      expect(got.length).toBeGreaterThanOrEqual(1);
      expect(hexKey(got[0]!.key)).toBe(hexKey(high));
      for (let i = 1; i < got.length; i++) expect(compareKeys(got[i - 1]!.key, got[i]!.key)).toBeLessThan(0);
      await engine.txn(async (t) => t.delete(high));
    });

    it('batchGet returns existing keys only, keyed by hex', async () => {
      fresh();
      await putAll(engine, [
        [b(p, 'x'), b('1')],
        [b(p, 'y'), b('2')],
      ]);
      const got = await engine.batchGet([b(p, 'x'), b(p, 'nope'), b(p, 'y')]);
      expect([...got.keys()].sort()).toEqual([hexKey(b(p, 'x')), hexKey(b(p, 'y'))].sort());
      expect(Buffer.from(got.get(hexKey(b(p, 'y')))!).toString()).toBe('2');
      const many = Array.from({ length: 300 }, (_, i) => b(p, 'k', String(i)));
      await putAll(
        engine,
        many.map((k) => [k, k]),
      );
      expect((await engine.batchGet(many)).size).toBe(300);
    });

    it('stores large values intact', async () => {
      fresh();
      const big = randomBytes(1024 * 1024);
      await putAll(engine, [[b(p, 'big'), big]]);
      expect(Buffer.from((await engine.get(b(p, 'big')))!).equals(big)).toBe(true);
    });

    it('reads its own writes inside a transaction, in gets and scans', async () => {
      fresh();
      await putAll(engine, [
        [b(p, 'a'), b('old')],
        [b(p, 'c'), b('c')],
        [b(p, 'd'), b('d')],
      ]);
      const seen = await engine.txn(async (t) => {
        t.put(b(p, 'a'), b('new'));
        t.put(b(p, 'b'), b('b'));
        t.delete(b(p, 'c'));
        const a = Buffer.from((await t.get(b(p, 'a')))!).toString();
        const c = await t.get(b(p, 'c'));
        const keys = (await collect(t.scan(...range()))).map((x) => Buffer.from(x.key.subarray(p.length)).toString());
        return { a, c, keys };
      });
      expect(seen).toEqual({ a: 'new', c: undefined, keys: ['a', 'b', 'd'] });
      expect(Buffer.from((await engine.get(b(p, 'a')))!).toString()).toBe('new');
      expect(await engine.get(b(p, 'c'))).toBeUndefined();
    });

    it('writes nothing when the transaction function throws', async () => {
      fresh();
      await expect(
        engine.txn(async (t) => {
          t.put(b(p, 'a'), b('1'));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await engine.get(b(p, 'a'))).toBeUndefined();
    });

    it('detects a write-write conflict on a key both read: exactly one commits', async () => {
      fresh();
      await putAll(engine, [[b(p, 'n'), b('0')]]);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const bump = (tag: string, wait: boolean) =>
        engine.txn(async (t) => {
          const v = await t.get(b(p, 'n'));
          if (wait) await gate;
          t.put(b(p, 'n'), b(Buffer.from(v!).toString(), tag));
        });
      const slow = bump('S', true);
      await bump('F', false);
      release();
      await expect(slow).rejects.toBeInstanceOf(KvConflictError);
      expect(Buffer.from((await engine.get(b(p, 'n')))!).toString()).toBe('0F');
    });

    it('detects a delete of a key read, and a key created in a scanned range', async () => {
      fresh();
      await putAll(engine, [[b(p, 'k'), b('v')]]);
      await expect(
        engine.txn(async (t) => {
          await t.get(b(p, 'k'));
          await engine.txn(async (o) => o.delete(b(p, 'k')));
          t.put(b(p, 'other'), b('x'));
        }),
      ).rejects.toBeInstanceOf(KvConflictError);
      await expect(
        engine.txn(async (t) => {
          expect(await collect(t.scan(b(p, 'r'), b(p, 's')))).toEqual([]);
          await engine.txn(async (o) => o.put(b(p, 'r1'), b('phantom')));
          t.put(b(p, 'claimed'), b('x'));
        }),
      ).rejects.toBeInstanceOf(KvConflictError);
      expect(await engine.get(b(p, 'claimed'))).toBeUndefined();
      expect(await engine.get(b(p, 'other'))).toBeUndefined();
    });

    it('retries conflicts when asked: concurrent increments all land', async () => {
      fresh();
      const key = b(p, 'counter');
      await putAll(engine, [[key, b('0')]]);
      await Promise.all(
        Array.from({ length: 8 }, () =>
          engine.txn(
            async (t) => {
              const n = Number(Buffer.from((await t.get(key))!).toString());
              await new Promise((r) => setTimeout(r, Math.random() * 5));
              t.put(key, b(String(n + 1)));
            },
            { retries: 100 },
          ),
        ),
      );
      expect(Buffer.from((await engine.get(key))!).toString()).toBe('8');
    });

    it('stops a scan when its signal aborts', async () => {
      fresh();
      await putAll(
        engine,
        Array.from({ length: 30 }, (_, i) => [b(p, [i]), b('v')] as [Buffer, Buffer]),
      );
      const ac = new AbortController();
      let n = 0;
      await expect(
        (async () => {
          for await (const _ of engine.scan(...range(), { pageSize: 5, signal: ac.signal })) {
            if (++n === 7) ac.abort();
          }
        })(),
      ).rejects.toThrow();
      expect(n).toBeLessThan(30);
    });
  });
}
