/**
 * The contract every {@link UsageStore} keeps, run against the PostgreSQL store
 * (test/e2e/knex-feature-stores.e2e.test.ts) and the in-memory fake
 * (test/unit/quotas/fake-usage-store.test.ts): the latest reading per volume, failures keeping
 * the last good numbers, change-only samples with an hourly one while still, sweeps carrying the
 * age of unchanged rows, downsampling. Tests share a store: each reads volumes of its own, whose
 * ids (letters and digits after one prefix) sort alike under any collation.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Reading, UsageStore } from '../../server/quotas/usage-store.js';

/** A store under test. */
export interface UsageStoreSubject {
  store: UsageStore;
  /** Makes an active volume with this id (PostgreSQL: its tenant and volume rows), with a bucket if given. */
  volume(volumeId: string, bucket?: string): Promise<void>;
  /** Takes the volume out of `active` (being deleted). */
  deactivate(volumeId: string): Promise<void>;
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const rand = () => Math.random().toString(36).slice(2).replace(/\d/g, '').padEnd(8, 'q').slice(0, 8);
const ok = (volumeId: string, bytes: number, at: Date, inodes = 1n): Reading => ({ volumeId, ok: true, bytes: BigInt(bytes), inodes, at });
const failed = (volumeId: string, at: Date): Reading => ({ volumeId, ok: false, error: 'engine timed out', at });
const ago = (ms: number) => new Date(Math.floor((Date.now() - ms) / 1000) * 1000);

/** Registers the contract suite for one implementation. */
export function usageStoreContract(name: string, make: () => Promise<UsageStoreSubject>): void {
  describe(`UsageStore contract: ${name}`, () => {
    let s: UsageStoreSubject;
    let base: string;
    let n = 0;
    /** `count` active volumes of this test, in id order. */
    const page = async (count: number, bucket = false): Promise<string[]> => {
      const ids = Array.from({ length: count }, () => `vu${base}${String(++n).padStart(3, '0')}`);
      for (const id of ids) await s.volume(id, bucket ? `b${id}` : undefined);
      return ids;
    };
    const readAts = async (ids: string[]) => {
      const latest = await s.store.latestReadings(ids);
      return ids.map((id) => latest.get(id)?.readAt?.getTime());
    };
    const samples = async (id: string) => (await s.store.listSamples(id, ago(1000 * DAY), ago(-MIN))).map((x) => [x.resolution, Number(x.bytes)]);
    beforeEach(async () => {
      s = await make();
      base = rand();
    });

    it('keeps the latest reading per volume; never-read volumes are absent', async () => {
      const [a, b] = await page(2);
      const t0 = ago(30 * MIN);
      await s.store.recordReadings([ok(a!, 100, t0, 7n)]);
      await s.store.recordReadings([ok(a!, 150, new Date(t0.getTime() + MIN), 8n)]);
      const latest = await s.store.latestReadings([a!, b!]);
      expect(latest.has(b!)).toBe(false);
      expect(latest.get(a!)).toEqual({
        volumeId: a,
        bytes: 150n,
        inodes: 8n,
        readAt: new Date(t0.getTime() + MIN),
        error: null,
        errorAt: null,
        storageBytes: null,
        storageObjects: null,
        storageReadAt: null,
      });
    });

    it('with `sweep` every volume of the page reads as read at the pass, and samples only what changed', async () => {
      const ids = await page(4);
      const t0 = ago(30 * MIN);
      const t1 = new Date(t0.getTime() + 5 * MIN);
      await s.store.recordReadings(
        ids.map((id, i) => ok(id, 100 + i, t0)),
        { sweep: true },
      );
      await s.store.recordReadings(
        ids.map((id, i) => ok(id, i === 1 ? 999 : 100 + i, t1)),
        { sweep: true },
      );
      expect(await readAts(ids)).toEqual(ids.map(() => t1.getTime()));
      const latest = await s.store.latestReadings(ids);
      expect(ids.map((id) => Number(latest.get(id)!.bytes))).toEqual([100, 999, 102, 103]);
      expect(await samples(ids[0]!)).toEqual([['raw', 100]]);
      expect(await samples(ids[1]!)).toEqual([
        ['raw', 101],
        ['raw', 999],
      ]);
    });

    it('a still volume is sampled once an hour', async () => {
      const [id] = await page(1);
      const t0 = ago(3 * HOUR);
      for (const m of [0, 20, 40, 61, 70]) await s.store.recordReadings([ok(id!, 100, new Date(t0.getTime() + m * MIN))], { sweep: true });
      expect((await s.store.listSamples(id!, t0, ago(0))).map((x) => x.at.getTime())).toEqual([t0.getTime(), t0.getTime() + 61 * MIN]);
    });

    it('a failed read keeps the last good numbers and time; the next success clears the error', async () => {
      const ids = await page(3);
      const t = [0, 5, 10, 15].map((m) => new Date(ago(30 * MIN).getTime() + m * MIN));
      await s.store.recordReadings(
        ids.map((id) => ok(id, 100, t[0]!)),
        { sweep: true },
      );
      await s.store.recordReadings(
        ids.map((id) => ok(id, 100, t[1]!)),
        { sweep: true },
      );
      // The middle volume fails inside the page's range: the sweep at t2 must not count for it.
      await s.store.recordReadings(
        ids.map((id, i) => (i === 1 ? failed(id, t[2]!) : ok(id, 100, t[2]!))),
        { sweep: true },
      );
      let latest = await s.store.latestReadings(ids);
      expect(latest.get(ids[1]!)).toMatchObject({ bytes: 100n, readAt: t[1], error: 'engine timed out', errorAt: t[2] });
      expect(latest.get(ids[0]!)!.readAt).toEqual(t[2]);
      await s.store.recordReadings(
        ids.map((id) => ok(id, 100, t[3]!)),
        { sweep: true },
      );
      latest = await s.store.latestReadings(ids);
      expect(await readAts(ids)).toEqual(ids.map(() => t[3]!.getTime()));
      expect(latest.get(ids[1]!)).toMatchObject({ error: null, errorAt: null });
      // A volume whose first read fails has a row without numbers.
      const [fresh] = await page(1);
      await s.store.recordReadings([failed(fresh!, t[3]!)]);
      expect((await s.store.latestReadings([fresh!])).get(fresh!)).toMatchObject({ bytes: null, readAt: null, error: 'engine timed out' });
    });

    it('sweeps count only for active volumes; without `sweep` every row is written', async () => {
      const ids = await page(3);
      const t0 = ago(30 * MIN);
      const t1 = new Date(t0.getTime() + 5 * MIN);
      await s.store.recordReadings(
        ids.map((id) => ok(id, 100, t0)),
        { sweep: true },
      );
      await s.store.recordReadings(
        ids.map((id) => ok(id, 100, t1)),
        { sweep: true },
      );
      await s.deactivate(ids[2]!);
      expect(await readAts(ids)).toEqual([t1, t1, t0].map((t) => t.getTime()));
      const t2 = new Date(t0.getTime() + 10 * MIN);
      await s.store.recordReadings([ok(ids[2]!, 100, t2)]);
      expect(await readAts([ids[2]!])).toEqual([t2.getTime()]);
    });

    it('a sweep no pass renewed for an hour is folded into its rows and removed', async () => {
      const ids = await page(2);
      const t0 = ago(3 * HOUR);
      const t1 = new Date(t0.getTime() + 5 * MIN);
      for (const t of [t0, t1])
        await s.store.recordReadings(
          ids.map((id) => ok(id, 100, t)),
          { sweep: true },
        );
      await s.store.downsample(new Date());
      expect(await readAts(ids)).toEqual([t1, t1].map((t) => t.getTime()));
      // Gone from the sweeps, kept in the rows: a volume out of `active` still reads as read at t1.
      await s.deactivate(ids[0]!);
      expect(await readAts(ids)).toEqual([t1, t1].map((t) => t.getTime()));
    });

    it('hourly samples are the latest of each hour since the given time, oldest first', async () => {
      const [a, b] = await page(2);
      const h = new Date(Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR);
      const at = (m: number) => new Date(h.getTime() + m * MIN);
      await s.store.recordReadings([ok(a!, 1, at(-70)), ok(b!, 9, at(10))]);
      for (const [m, bytes] of [
        [5, 2],
        [30, 3],
        [65, 4],
        [125, 5],
      ] as const)
        await s.store.recordReadings([ok(a!, bytes, at(m))]);
      const got = await s.store.hourlySamples([a!, b!], h);
      expect(got.get(a!)!.map((x) => [x.at.getTime(), Number(x.bytes)])).toEqual([
        [at(30).getTime(), 3],
        [at(65).getTime(), 4],
        [at(125).getTime(), 5],
      ]);
      expect(got.get(b!)!.map((x) => Number(x.bytes))).toEqual([9]);
      expect((await s.store.hourlySamples([], h)).size).toBe(0);
    });

    it('downsampling folds old raw samples into hourly and daily maxima, prunes the oldest, and is idempotent', async () => {
      const [recent, old, ancient] = await page(3);
      // Readings of one hour each, so their buckets are the same hour and day in any time zone.
      const hourOf = (ms: number) => Math.floor((Date.now() - ms) / HOUR) * HOUR;
      const record = async (id: string, start: number, bytes: number[]) => {
        for (const [i, b] of bytes.entries()) await s.store.recordReadings([ok(id, b, new Date(start + (5 + i * 10) * MIN))]);
      };
      await record(recent!, hourOf(3 * DAY), [100, 300, 250]);
      await record(old!, hourOf(40 * DAY), [100, 300, 250]);
      await record(ancient!, hourOf(800 * DAY), [7, 8]);
      const first = await s.store.downsample(new Date());
      expect(first.folded).toBeGreaterThanOrEqual(5);
      expect(first.pruned).toBeGreaterThanOrEqual(1);
      const raw = await s.store.listSamples(recent!, ago(10 * DAY), ago(0));
      expect(raw.map((x) => [x.resolution, x.at.getTime(), Number(x.bytes)])).toEqual([['hour', hourOf(3 * DAY), 300]]);
      expect(await samples(old!)).toEqual([['day', 300]]);
      expect(await samples(ancient!)).toEqual([]);
      await s.store.downsample(new Date());
      expect(await samples(recent!)).toEqual([['hour', 300]]);
      expect(await samples(old!)).toEqual([['day', 300]]);
      expect(await s.store.listSamples(recent!, ago(10 * DAY), ago(0), 'raw')).toEqual([]);
    });

    it('storage usage is stored beside the counters; the comparison lists active volumes with a bucket', async () => {
      const [a, b] = await page(2, true);
      const [plain] = await page(1);
      const at = ago(MIN);
      const mine = async () => (await s.store.storageComparison()).filter((r) => [a, b, plain].includes(r.volumeId)).sort((x, y) => (x.volumeId < y.volumeId ? -1 : 1));
      expect(await mine()).toEqual([
        { volumeId: a, bucket: `b${a}`, bytes: null },
        { volumeId: b, bucket: `b${b}`, bytes: null },
      ]);
      await s.store.recordReadings([ok(a!, 100, at)]);
      await s.store.recordStorageUsage(a!, { bytes: 120n, objects: 3n }, at);
      await s.store.recordStorageUsage(b!, { bytes: 5n, objects: 1n }, at);
      await s.store.recordReadings([ok(a!, 110, new Date(at.getTime() + 1000))]);
      const latest = await s.store.latestReadings([a!, b!]);
      expect(latest.get(a!)).toMatchObject({ bytes: 110n, storageBytes: 120n, storageObjects: 3n, storageReadAt: at });
      expect(latest.get(b!)).toMatchObject({ bytes: null, readAt: null, storageBytes: 5n });
      await s.deactivate(b!);
      expect(await mine()).toEqual([{ volumeId: a, bucket: `b${a}`, bytes: 110n }]);
    });
  });
}
