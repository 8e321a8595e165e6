/**
 * Change-only readings (migration 20261201000600): a page recorded with `sweep` writes only the
 * rows that changed, yet every reader of reading age (latestReadings, the fleet read model)
 * sees when each volume was last read successfully. Real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downsample, latestReadings, recordReadings, type Reading } from '../../server/quotas/usage-store.js';
import { listFleet } from '../../server/volumes/fleet-read-model.js';
import { insertVolume, setVolumeState } from '../../server/volumes/volume-store.js';
import { createTestDatabase, pgAvailable, type TestDatabase } from '../support/pg.js';

const MIN = 60_000;

describe.skipIf(!pgAvailable())('usage readings recorded change-only, aged by sweeps', () => {
  let d: TestDatabase;
  let n = 0;
  beforeAll(async () => {
    d = await createTestDatabase(4);
    await d.db('tenants').insert({ id: 'acme', display_name: 'Acme', email: 'a@example.com' });
  });
  afterAll(async () => d?.drop());

  /** `count` active volumes, in PostgreSQL's id order (as a listing page is). */
  async function page(count: number): Promise<string[]> {
    const ids: string[] = [];
    const run = ++n;
    for (let i = 0; i < count; i++) {
      const id = `vol_r${run}_${i}`;
      const name = id.replace(/_/g, '-');
      const quota = { softBytes: null, hardBytes: null, softInodes: null, hardInodes: null, graceSeconds: 0 };
      await d.db('volume_prefixes').insert({ prefix: name, volume_id: id });
      await insertVolume(d.db, { id, tenantId: 'acme', name, prefix: name, engine: 'local', metaUrl: `local://x?prefix=${name}`, quota, requestHash: id });
      await setVolumeState(d.db, id, 'active');
      ids.push(id);
    }
    const rows = (await d.db('volumes').whereIn('id', ids).orderBy('id').select('id')) as { id: string }[];
    return rows.map((r) => r.id);
  }
  const ok = (volumeId: string, bytes: number, at: Date): Reading => ({ volumeId, ok: true, bytes: BigInt(bytes), inodes: 1n, at });
  /** Records a whole listing page's readings, as a pass does. */
  const sweep = (readings: Reading[]) => recordReadings(d.db, readings, { sweep: true });
  const rowsOf = async (ids: string[]) => (await d.db('usage_readings').whereIn('volume_id', ids).orderBy('volume_id')) as { volume_id: string; read_at: Date; bytes: bigint; error: string | null }[];

  it('writes only changed rows, and every volume of the page reads as read at the pass', async () => {
    const ids = await page(4);
    const t0 = new Date(Date.now() - 30 * MIN);
    const t1 = new Date(t0.getTime() + 5 * MIN);
    await sweep(ids.map((id, i) => ok(id, 100 + i, t0)));
    // Only the second volume changes.
    await sweep(ids.map((id, i) => ok(id, i === 1 ? 999 : 100 + i, t1)));
    const rows = await rowsOf(ids);
    expect(rows.map((r) => r.read_at.getTime())).toEqual([t0, t1, t0, t0].map((t) => t.getTime()));
    expect(rows.map((r) => Number(r.bytes))).toEqual([100, 999, 102, 103]);
    const latest = await latestReadings(d.db, ids);
    expect(ids.map((id) => latest.get(id)!.readAt!.getTime())).toEqual(ids.map(() => t1.getTime()));
    const fleet = await listFleet(d.db, { sort: 'name', order: 'asc', limit: 100, offset: 0 });
    expect(fleet.items.filter((f) => ids.includes(f.id)).map((f) => f.readAt?.getTime())).toEqual(ids.map(() => t1.getTime()));
  });

  it('a failed read keeps the last successful time, and the next success clears the error', async () => {
    const ids = await page(3);
    const t0 = new Date(Date.now() - 30 * MIN);
    const t1 = new Date(t0.getTime() + 5 * MIN);
    const t2 = new Date(t0.getTime() + 10 * MIN);
    const t3 = new Date(t0.getTime() + 15 * MIN);
    await sweep(ids.map((id) => ok(id, 100, t0)));
    await sweep(ids.map((id) => ok(id, 100, t1)));
    // The middle volume fails at t2, inside the page's range: the sweep at t2 must not count for it.
    await sweep(ids.map((id, i) => (i === 1 ? { volumeId: id, ok: false as const, error: 'engine timed out', at: t2 } : ok(id, 100, t2))));
    let latest = await latestReadings(d.db, ids);
    expect(latest.get(ids[1]!)).toMatchObject({ readAt: t1, error: 'engine timed out', errorAt: t2 });
    expect(latest.get(ids[0]!)!.readAt).toEqual(t2);
    await sweep(ids.map((id) => ok(id, 100, t3)));
    latest = await latestReadings(d.db, ids);
    expect(ids.map((id) => latest.get(id)!.readAt)).toEqual([t3, t3, t3]);
    expect(latest.get(ids[1]!)).toMatchObject({ error: null, errorAt: null });
  });

  it('sweeps count only for active volumes, and without `sweep` every row is written', async () => {
    const ids = await page(3);
    const t0 = new Date(Date.now() - 30 * MIN);
    const t1 = new Date(t0.getTime() + 5 * MIN);
    await sweep(ids.map((id) => ok(id, 100, t0)));
    await setVolumeState(d.db, ids[2]!, 'deleting');
    await sweep(ids.slice(0, 2).map((id) => ok(id, 100, t1)));
    const latest = await latestReadings(d.db, ids);
    expect(ids.map((id) => latest.get(id)!.readAt)).toEqual([t1, t1, t0]);
    const t2 = new Date(t0.getTime() + 10 * MIN);
    await recordReadings(d.db, [ok(ids[2]!, 100, t2)]);
    expect((await rowsOf([ids[2]!]))[0]!.read_at).toEqual(t2);
  });

  it('a range no pass renews any more is folded into its rows and removed', async () => {
    const ids = await page(2);
    const t0 = new Date(Date.now() - 3 * 60 * MIN);
    const t1 = new Date(t0.getTime() + 5 * MIN);
    await sweep(ids.map((id) => ok(id, 100, t0)));
    await sweep(ids.map((id) => ok(id, 100, t1)));
    const sweeps = () => d.db('usage_read_sweeps').where({ first_volume_id: ids[0], last_volume_id: ids[1] });
    expect(await sweeps()).toHaveLength(1);
    await downsample(d.db, new Date());
    expect(await sweeps()).toHaveLength(0);
    expect((await rowsOf(ids)).map((r) => r.read_at)).toEqual([t1, t1]);
    expect([...(await latestReadings(d.db, ids)).values()].map((r) => r.readAt)).toEqual([t1, t1]);
  });
});
