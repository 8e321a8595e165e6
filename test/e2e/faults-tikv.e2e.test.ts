/**
 * Faults on the TiKV engine, through the in-process fake PD + TiKV (real gRPC on loopback; see
 * test/support/tikv-fake): PD loses its leader (an election: no leader listed, region, store and
 * timestamp requests refused), then the stores drop calls (refused, or held past the deadline).
 * While either lasts, API calls on tikv volumes answer 503 dependency_unavailable within their
 * deadline and change nothing; a pass reads every volume as unknown and decides nothing (a
 * frozen volume stays clamped). Once the fault clears, one pass brings the record and TiKV's
 * setting back into agreement.
 */
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TikvEngine } from '../../server/engines/tikv/tikv-engine.js';
import { parseMetaUrl } from '../../server/meta/meta-url.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { startFakeTikv, type FakeTikv } from '../support/tikv-fake/index.js';

const MB = 1_000_000;
const META_TIMEOUT_MS = 1000;
/** The deadline plus the time an answer takes on a loaded CI machine. */
const ANSWER_BOUND_MS = META_TIMEOUT_MS * 2.5;
const STORE_METHODS = ['KvGet', 'KvScan', 'KvBatchGet', 'KvPrewrite', 'KvCommit', 'KvPessimisticLock', 'KvCheckTxnStatus', 'KvResolveLock', 'KvBatchRollback', 'KvCleanup', 'KvTxnHeartBeat'];

describe.skipIf(!pgAvailable())('TiKV losing its PD leader and dropping calls', () => {
  let fake: FakeTikv;
  let engine: TikvEngine;
  let t: TestApp;
  let admin: string;
  const vols: Record<string, { id: string; tv: TkvVolume }> = {};

  beforeAll(async () => {
    fake = await startFakeTikv({ stores: 3 });
    engine = new TikvEngine({ pdEndpoints: [fake.pdEndpoint] });
    t = await createTestApp({ META_ENGINE: 'tikv', TIKV_PD_ENDPOINTS: fake.pdEndpoint, META_TIMEOUT_MS: String(META_TIMEOUT_MS) });
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme' });
    for (const [name, size] of [
      ['full', 30 * MB],
      ['fine', 1 * MB],
    ] as const) {
      const v = await buildVolume(t.http, admin, 'acme', { name, quota: { softBytes: 10 * MB, hardBytes: 20 * MB } });
      expect(v.metaUrl).toMatch(/^tikv:\/\//);
      const tv = new TkvVolume(engine, parseMetaUrl(v.metaUrl).prefix);
      const fx = new FixtureBuilder(engine, tv.keys);
      await fx.file(ROOT_INODE, 'data.bin', size);
      await fx.finish();
      vols[name] = { id: v.id, tv };
    }
    await t.services.enforcement.countersPass();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await engine?.close();
    await fake?.close();
  });

  const view = async (id: string) => (await request(t.http).get(`/v1/volumes/${id}/enforcement`).set('authorization', admin)).body;

  /** While the fault lasts: reads and decisions answer 503 in time and write nothing; a pass marks unknown. */
  async function duringFault(label: string): Promise<number[]> {
    const auditBefore = await t.database.db('audit_events').count({ n: '*' }).first();
    const times: number[] = [];
    for (const [method, path, body] of [
      ['get', `/v1/volumes/${vols.fine!.id}/usage`, undefined],
      ['post', `/v1/volumes/${vols.fine!.id}/freeze`, { reason: `while TiKV ${label}` }],
      ['post', `/v1/volumes/${vols.full!.id}/unfreeze`, { reason: `while TiKV ${label}` }],
    ] as const) {
      const t0 = Date.now();
      const r = await (method === 'get' ? request(t.http).get(path) : request(t.http).post(path).send(body)).set('authorization', admin);
      times.push(Date.now() - t0);
      expect(times.at(-1), `${label}: ${path}`).toBeLessThan(ANSWER_BOUND_MS);
      expect({ status: r.status, ...r.body }, `${label}: ${path}`).toMatchObject({ status: 503, code: 'dependency_unavailable', dependency: 'metadata engine (tikv)' });
    }
    expect(await t.database.db('audit_events').count({ n: '*' }).first()).toEqual(auditBefore);
    const t0 = Date.now();
    const pass = await t.services.enforcement.countersPass();
    times.push(Date.now() - t0);
    expect(pass, label).toMatchObject({ readFailed: 2, transitions: 0 });
    expect(await view(vols.full!.id), label).toMatchObject({ state: 'frozen', unknown: { reason: expect.any(String) } });
    expect((await view(vols.fine!.id)).state, label).toBe('ok');
    return times;
  }

  /** After the fault: the first pass that reads everything agrees with TiKV. */
  async function converges(label: string, clamp: bigint): Promise<number> {
    const t0 = Date.now();
    let after = await t.services.enforcement.countersPass();
    for (let i = 0; i < 10 && after.readFailed > 0; i++) {
      await new Promise((r) => setTimeout(r, 300));
      after = await t.services.enforcement.countersPass();
    }
    const ms = Date.now() - t0;
    expect(after, label).toMatchObject({ readFailed: 0, transitions: 0, drifts: 0 });
    const healed = await view(vols.full!.id);
    expect(healed, label).toMatchObject({ state: 'frozen', unknown: null });
    expect(healed.layerStatus.metadata, label).toMatchObject({ inSync: true });
    expect((await vols.full!.tv.readSetting()).capacity, label).toBe(clamp);
    expect(await view(vols.fine!.id), label).toMatchObject({ state: 'ok', unknown: null });
    return ms;
  }

  it('PD without a leader, then stores refusing and holding calls: 503 in time, unknown, one pass agrees after each', async () => {
    expect((await view(vols.full!.id)).state).toBe('frozen');
    const clamp = (await vols.full!.tv.readSetting()).capacity;
    expect(clamp).toBeGreaterThan(0n);
    const figures: string[] = [];

    fake.setPdLeaderless(true);
    const tsoBefore = fake.calls('Tso');
    const leaderless = await duringFault('PD lost its leader');
    expect(fake.calls('Tso'), 'the client kept asking PD for timestamps').toBeGreaterThan(tsoBefore);
    fake.setPdLeaderless(false);
    figures.push(`PD leaderless: API ${leaderless.slice(0, 3).join('/')} ms, pass ${leaderless[3]} ms, converged ${await converges('PD leader back', clamp)} ms`);

    // Every store refuses every call (the reply is lost), then every call is held past the deadline.
    for (const method of STORE_METHODS) fake.injectFault({ kind: 'unavailable', method, count: 1_000_000 });
    const refused = await duringFault('stores refuse calls');
    fake.clearFaults();
    figures.push(`stores refusing: API ${refused.slice(0, 3).join('/')} ms, pass ${refused[3]} ms, converged ${await converges('stores answer again', clamp)} ms`);

    // Held longer than a pass's batch deadline (four calls' worth), so the pass gives up too.
    for (const method of STORE_METHODS) fake.injectFault({ kind: 'delay', ms: META_TIMEOUT_MS * 5, method, count: 1_000_000 });
    const held = await duringFault('stores hold calls');
    fake.clearFaults();
    // Calls still held by the fake finish within their delay; then the stores answer normally.
    await new Promise((r) => setTimeout(r, META_TIMEOUT_MS * 5));
    figures.push(`stores holding: API ${held.slice(0, 3).join('/')} ms, pass ${held[3]} ms, converged ${await converges('stores answer in time again', clamp)} ms`);
    console.info(`[faults-tikv] ${figures.join('; ')}`);
  }, 120_000);
});
