/**
 * The rows kept between enforcement passes: a kept row is handed out only when the load just
 * confirmed its version, whatever concurrent reads did to the cache meanwhile.
 */
import { describe, expect, it } from 'vitest';
import type { KnownVersions, VersionedRows } from '../../../server/enforcement/enforcement-store.js';
import { RowCache } from '../../../server/enforcement/pass-rows.js';

interface Row {
  id: string;
  n: number;
}

/** A table of rows with versions, answering versioned loads as the PostgreSQL stores do. */
function table(rows: Record<string, number>) {
  const versions: Record<string, number> = Object.fromEntries(Object.keys(rows).map((k) => [k, 1]));
  const sent: string[] = [];
  return {
    rows,
    sent,
    write(id: string, n: number) {
      rows[id] = n;
      versions[id] = (versions[id] ?? 0) + 1;
    },
    delete(id: string) {
      delete rows[id];
      delete versions[id];
    },
    load(keys: readonly string[]) {
      return async (known: KnownVersions): Promise<VersionedRows<Row>> => {
        const out: VersionedRows<Row> = { changed: new Map(), unchanged: 0 };
        const held = new Map(known.keys.map((k, i) => [k, known.versions[i]]));
        for (const k of keys) {
          if (!(k in rows)) continue;
          const version = String(versions[k]);
          if (held.get(k) === version) out.unchanged++;
          else {
            sent.push(k);
            out.changed.set(k, { version, row: { id: k, n: rows[k]! } });
          }
        }
        return out;
      };
    },
  };
}

describe('RowCache', () => {
  it('reads every row once, then only the rows that changed', async () => {
    const t = table({ a: 1, b: 2, c: 3 });
    const cache = new RowCache<Row>();
    const keys = ['a', 'b', 'c', 'd'];
    expect([...(await cache.read(keys, 1, t.load(keys))).values()].map((r) => r.n)).toEqual([1, 2, 3]);
    expect(t.sent).toEqual(['a', 'b', 'c']);

    t.sent.length = 0;
    t.write('b', 20);
    t.write('d', 4);
    const got = await cache.read(keys, 2, t.load(keys));
    expect(t.sent).toEqual(['b', 'd']);
    expect(Object.fromEntries([...got].map(([k, r]) => [k, r.n]))).toEqual({ a: 1, b: 20, c: 3, d: 4 });
    expect(cache.size).toBe(4);
  });

  it('merges an answer with the entries it asked about, not with what a concurrent read put there', async () => {
    const t = table({ a: 1 });
    const cache = new RowCache<Row>();
    await cache.read(['a'], 1, t.load(['a']));
    // A slow read asks about version 1; meanwhile the row changes and a fast read keeps version 2.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = cache.read(['a'], 2, async (known) => {
      const answer = await t.load(['a'])(known);
      await gate;
      return answer;
    });
    await Promise.resolve();
    t.write('a', 2);
    expect((await cache.read(['a'], 3, t.load(['a']))).get('a')?.n).toBe(2);
    release();
    // The slow answer (version 1, unchanged from what it asked) is served from version 1's row.
    expect((await slow).get('a')?.n).toBe(1);
    // And it left the newer entry in place: the next load confirms version 2.
    t.sent.length = 0;
    expect((await cache.read(['a'], 4, t.load(['a']))).get('a')?.n).toBe(2);
    expect(t.sent).toEqual([]);
  });

  it('reads the keys in full when a held row is gone, and keeps nothing of it', async () => {
    const t = table({ a: 1, b: 2 });
    const cache = new RowCache<Row>();
    await cache.read(['a', 'b'], 1, t.load(['a', 'b']));
    t.delete('a');
    t.sent.length = 0;
    let loads = 0;
    const got = await cache.read(['a', 'b'], 2, (known) => (loads++, t.load(['a', 'b'])(known)));
    expect(loads).toBe(2);
    expect([...got.keys()]).toEqual(['b']);
    expect(t.sent).toEqual(['b']);
    expect(cache.size).toBe(1);
  });

  it('hands out frozen rows (a pass never edits what the next pass will use)', async () => {
    const t = table({ a: 1 });
    const cache = new RowCache<Row>();
    const row = (await cache.read(['a'], 1, t.load(['a']))).get('a')!;
    expect(() => {
      row.n = 5;
    }).toThrow(TypeError);
  });

  it('forgets the rows no pass has seen since a given pass', async () => {
    const t = table({ a: 1, b: 2 });
    const cache = new RowCache<Row>();
    await cache.read(['a', 'b'], 1, t.load(['a', 'b']));
    await cache.read(['a'], 2, t.load(['a']));
    cache.forgetUnseenSince(2);
    expect(cache.size).toBe(1);
    t.sent.length = 0;
    await cache.read(['a', 'b'], 3, t.load(['a', 'b']));
    expect(t.sent).toEqual(['b']);
  });
});
