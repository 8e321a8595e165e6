/**
 * Adoption of volumes the real `juicefs format` made (not Headroom): adopted through the API on
 * etcd and Redis, mounted and written by the real client, then usage and walk through Headroom;
 * and `juicefs config` racing an admin freeze on the same setting, where neither change may be
 * lost (Headroom's compare-and-set re-reads what juicefs wrote; juicefs rewrites the whole
 * setting, so a freeze it overwrote must be re-applied by Headroom's next pass).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { request } from '../support/api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JuiceFsCli, mount, unmountAll } from '../support/real/juicefs.js';
import { realAvailable, startStack, type RealEngine, type RealStack } from '../support/real/stack.js';

const GiB = 1n << 30n;
const engines = (['etcd', 'redis'] as const).map((engine) => ({ engine, available: realAvailable(engine, 'juicefs-1.4') }));

describe.each(engines)('adopting juicefs-formatted volumes on $engine', ({ engine, available }: { engine: RealEngine; available: boolean }) => {
  if (!available) return void it.skip('needs PostgreSQL, the engine server and juicefs 1.4');
  let s: RealStack;
  const jfs = () => JuiceFsCli.of('juicefs-1.4');
  let meta: string;
  let id: string;

  beforeAll(async () => {
    s = await startStack(engine);
    meta = s.foreignMetaUrl(1);
    await jfs().format(meta, 'legacy-vol', { storage: 'file', bucket: s.bucket, capacity: 5n * GiB, trashDays: 1 });
    const res = await request(s.app.http)
      .post('/v1/tenants/acme/volumes')
      .set('authorization', s.admin)
      .send({ name: 'legacy', adopt: { metaUrl: meta } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.state).toBe('active');
    // No hard limit asked for: the 5 GiB the volume already enforces becomes its hard limit.
    expect(res.body.quota).toMatchObject({ hardBytes: Number(5n * GiB) });
    id = res.body.id;
  });
  afterAll(async () => {
    await unmountAll();
    await s?.stop();
  });

  /** The setting as `juicefs status` reads it; Capacity/Inodes 0 (omitted by JuiceFS) read as 0. */
  const setting = async () => {
    const st = (await jfs().status(meta)).Setting as { Capacity?: number; Inodes?: number; TrashDays?: number; UUID?: string };
    return { ...st, Capacity: st.Capacity ?? 0, Inodes: st.Inodes ?? 0 };
  };
  const enforcement = async () => (await request(s.app.http).get(`/v1/volumes/${id}/enforcement`).set('authorization', s.admin)).body;

  it('serves usage and walks of the adopted volume, written by the real client', async () => {
    const m = await mount(jfs(), meta);
    try {
      mkdirSync(path.join(m.path, 'data', 'sub'), { recursive: true });
      for (let i = 0; i < 20; i++) writeFileSync(path.join(m.path, 'data', `f${i}`), Buffer.alloc(1000 * i, 1));
      writeFileSync(path.join(m.path, 'data', 'sub', 'big'), Buffer.alloc(3 << 20, 2));
      spawnSync('sync', ['-f', m.path]);
      const df = () => Number(spawnSync('df', ['-B1', '--output=used', m.path], { encoding: 'utf8' }).stdout.split('\n')[1]);
      let usage: { usedBytes?: number; usedInodes?: number } = {};
      for (let i = 0; i < 20 && usage.usedBytes !== df(); i++) {
        await s.runJob('counters');
        usage = (await request(s.app.http).get(`/v1/volumes/${id}/usage`).set('authorization', s.admin)).body;
        if (usage.usedBytes !== df()) await new Promise((r) => setTimeout(r, 500));
      }
      expect(usage).toMatchObject({ usedBytes: df(), usedInodes: 23 });
      const walk = await s.walk(id);
      expect(walk.state).toBe('succeeded');
      expect(walk.result.mismatch).toBeNull();
      const dirs = await s.directories(id);
      expect(dirs.find((d) => d.path === '/data')).toMatchObject({ inodes: 22, files: 21, dirs: 1 });
      expect(dirs.find((d) => d.path === '/data/sub')).toMatchObject({ inodes: 1, bytes: 3 << 20, logicalBytes: 3 << 20 });
    } finally {
      await m.stop();
    }
  });

  it('loses neither juicefs config nor an admin freeze when they race', async () => {
    const uuid = (await setting()).UUID;
    for (let round = 0; round < 3; round++) {
      const days = 2 + round;
      const capacity = 6 + round; // GiB
      const [freeze, config] = await Promise.all([
        request(s.app.http)
          .post(`/v1/volumes/${id}/freeze`)
          .set('authorization', s.admin)
          .send({ reason: `race ${round}` }),
        jfs().config(meta, ['--capacity', String(capacity), '--trash-days', String(days)]),
      ]);
      expect(freeze.status, JSON.stringify(freeze.body)).toBe(200);
      expect(config.code).toBe(0);
      // juicefs rewrote the whole setting: if its write came last, the freeze is put back by
      // Headroom's next pass (desired state is re-applied until the engine holds it).
      let frozen = await setting();
      for (let i = 0; i < 40 && frozen.Capacity !== (await enforcement()).juicefsLimits?.capacity; i++) {
        await s.runJob('enforce');
        frozen = await setting();
      }
      const e = await enforcement();
      expect(e.state).toBe('frozen');
      expect(frozen.Capacity).toBe(e.juicefsLimits.capacity); // the freeze holds in the engine
      expect(frozen.Capacity).toBeLessThan(capacity * 2 ** 30);
      expect(frozen.TrashDays).toBe(days); // juicefs config's change survived Headroom's write
      expect(frozen.UUID).toBe(uuid);
      const un = await request(s.app.http)
        .post(`/v1/volumes/${id}/unfreeze`)
        .set('authorization', s.admin)
        .send({ reason: `race ${round} over` });
      expect(un.status, JSON.stringify(un.body)).toBe(200);
      let after = await setting();
      for (let i = 0; i < 40 && after.Capacity !== (await enforcement()).juicefsLimits?.capacity; i++) {
        await s.runJob('enforce');
        after = await setting();
      }
      console.log(`[real] ${engine} round ${round}: frozen Capacity ${frozen.Capacity}, after unfreeze ${after.Capacity} (juicefs config asked ${capacity} GiB)`);
      expect(after.TrashDays).toBe(days);
      // Headroom's desired limits are in the engine again: the hard limit kept from adoption.
      // Capacity is Headroom's to set; one written by juicefs config lasts until the next check.
      expect(after.Capacity).toBe((await enforcement()).juicefsLimits?.capacity);
      expect(after.Capacity).toBe(Number(5n * GiB));
    }
  });
});
