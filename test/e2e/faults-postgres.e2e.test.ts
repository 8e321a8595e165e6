/**
 * Faults on PostgreSQL itself: a private cluster (test/support/private-pg.ts; the shared server
 * cannot be restarted under the other files) is crashed (`pg_ctl stop -m immediate`: every
 * connection cut, no checkpoint) and started again on the same data, (a) while freeze, unfreeze
 * and quota-request calls are in flight and (b) in the middle of a counters pass.
 *
 * Held: every call answers within a bound, either < 500 or 503 problem+json naming PostgreSQL
 * (never a hang, never a 500 carrying a driver error); /readyz is 503 while it is down and 200
 * after; no decision is half-written (each transition and request row has its audit row, and
 * nothing else was audited); after recovery one pass makes the recorded and the real JuiceFS
 * setting agree.
 */
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import type { VolumeMetadata } from '../../server/meta/volume-metadata.js';
import { startEngine, type EngineUnderTest, type Handle } from '../support/engines.js';
import { pgAvailable } from '../support/pg.js';
import { createPrivateDatabase, privatePgAvailable, startPrivatePg, type PrivatePg } from '../support/private-pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const MB = 1_000_000;
/** No API call may take longer than this, whatever PostgreSQL is doing. */
const CALL_BOUND_MS = 5000;

/** What the app logged as an unhandled error (each would have been a 500). */
const unhandled: string[] = [];
const log = pino(
  { level: 'error' },
  {
    write: (line: string) => {
      const e = JSON.parse(line) as { msg?: string; err?: { message?: string; stack?: string } };
      if (e.msg === 'unhandled error') unhandled.push(e.err?.stack ?? e.err?.message ?? line);
    },
  },
);

/** Set by a test: runs once, the first time the pass writes a JuiceFS setting. */
let onSetLimits: (() => Promise<void>) | undefined;

function hooked(real: VolumeMetadata): VolumeMetadata {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === 'setLimits') {
        return async (...a: Parameters<VolumeMetadata['setLimits']>) => {
          const r = await target.setLimits(...a);
          const hook = onSetLimits;
          onSetLimits = undefined;
          if (hook) await hook();
          return r;
        };
      }
      const x = Reflect.get(target, prop) as unknown;
      return typeof x === 'function' ? (x as (...args: unknown[]) => unknown).bind(target) : x;
    },
  });
}

interface Outcome {
  what: string;
  ms: number;
  status: number;
  body: Record<string, unknown>;
  type: string;
}

describe.skipIf(!pgAvailable() || !privatePgAvailable())('PostgreSQL crashed and restarted', () => {
  let cluster: PrivatePg;
  let eng: EngineUnderTest;
  let t: TestApp;
  let admin: string;

  beforeAll(async () => {
    cluster = await startPrivatePg();
    const database = await createPrivateDatabase(cluster, 'headroom', 6);
    eng = await startEngine('local');
    // A long first backoff: after recovery the pass, not the in-process retry timer, must converge.
    t = await createTestApp({ ...eng.env, ENFORCE_APPLY_BACKOFF_MS: '600000' }, undefined, { database, wrapMetadata: hooked, log });
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme' });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await eng?.stop();
    await cluster?.destroy();
  });

  async function volume(name: string, bytes: number, quota = { softBytes: 100 * MB, hardBytes: 200 * MB }): Promise<Handle> {
    const body = await buildVolume(t.http, admin, 'acme', { name, quota });
    const h = eng.handle(body.id, body.metaUrl);
    await h.fx.file(ROOT_INODE, 'data.bin', bytes);
    await h.fx.finish();
    return h;
  }

  const view = async (id: string) => {
    const r = await request(t.http).get(`/v1/volumes/${id}/enforcement`).set('authorization', admin);
    expect(r.status).toBe(200);
    return r.body;
  };

  /** Sends one call and records how it ended; a transport error or a hang fails the test. */
  async function call(what: string, method: 'get' | 'post', path: string, body?: object): Promise<Outcome> {
    const t0 = Date.now();
    const req = method === 'get' ? request(t.http).get(path) : request(t.http).post(path).send(body);
    const r = await req.set('authorization', admin).timeout(CALL_BOUND_MS * 2);
    return { what, ms: Date.now() - t0, status: r.status, body: r.body as Record<string, unknown>, type: String(r.headers['content-type'] ?? '') };
  }

  function expectHeld(outcomes: Outcome[]): void {
    expect(unhandled).toEqual([]);
    for (const o of outcomes) {
      expect(o.ms, o.what).toBeLessThan(CALL_BOUND_MS);
      if (o.status < 500) continue;
      // Down: 503 problem+json naming PostgreSQL, never a 500 with the driver's words.
      expect({ what: o.what, status: o.status, code: o.body.code, type: o.type }).toMatchObject({
        status: 503,
        code: 'dependency_unavailable',
        type: expect.stringMatching(/^application\/problem\+json/),
      });
      expect(o.body.dependency, o.what).toMatch(/PostgreSQL/);
    }
  }

  /** Every transition and request row has its audit row, and no audit row lacks its change. */
  async function expectNothingHalfWritten(): Promise<void> {
    const db = t.database.db;
    const byVolume = async (sql: string) => Object.fromEntries((await db.raw(sql)).rows.map((r: { id: string; n: string }) => [r.id, Number(r.n)]));
    const transitions = await byVolume(`SELECT volume_id AS id, count(*) AS n FROM enforcement_transitions GROUP BY 1`);
    const audited = await byVolume(`SELECT entity_id AS id, count(*) AS n FROM audit_events WHERE action = 'enforcement.transition' GROUP BY 1`);
    expect(audited).toEqual(transitions);
    const requests = (await db('quota_requests').select('id')).map((r: { id: string }) => r.id).sort();
    const created = (await db('audit_events').where({ action: 'quota_request.created' }).select('entity_id')).map((r: { entity_id: string }) => r.entity_id).sort();
    expect(created).toEqual(requests);
  }

  /** Passes until one completes (the pool reconnects by itself); bounded. */
  async function firstCompletePass() {
    for (let i = 0; i < 20; i++) {
      try {
        return await t.services.enforcement.countersPass();
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    throw new Error('no pass completed within 10 s of PostgreSQL coming back');
  }

  /** The recorded desired setting equals JuiceFS's, and the layer says it is in sync. */
  async function expectAgreement(handles: Handle[]): Promise<void> {
    for (const h of handles) {
      const v = await view(h.id);
      expect(v.unknown, h.id).toBeNull();
      expect(v.layerStatus.metadata, h.id).toMatchObject({ inSync: true, lastError: null });
      const desired = v.layerStatus.metadata.desired?.capacity ?? 0;
      expect(Number(await h.capacity()), h.id).toBe(desired);
      if (v.state === 'frozen') expect(desired, h.id).toBeGreaterThan(0);
    }
  }

  async function readyz(): Promise<number> {
    const r = await request(t.http).get('/readyz').timeout(CALL_BOUND_MS);
    if (r.status !== 200) expect(r.body).toMatchObject({ status: 503, code: 'unavailable', dependency: 'PostgreSQL' });
    return r.status;
  }

  it('during API writes: bounded answers, 503 naming PostgreSQL, /readyz follows, nothing half-written, one pass agrees', async () => {
    const handles = [];
    for (let i = 0; i < 4; i++) handles.push(await volume(`api-${i}`, 5 * MB));
    await t.services.enforcement.countersPass();
    expect(await readyz()).toBe(200);

    let stop = false;
    const outcomes: Outcome[] = [];
    // One writer per volume, each alternating freeze and unfreeze and filing quota requests, in a
    // bounded loop (it ends when told or after 400 calls, whichever comes first).
    const writer = async (h: Handle, w: number) => {
      for (let i = 0; i < 400 && !stop; i++) {
        const step = i % 3;
        if (step === 0) outcomes.push(await call(`freeze ${w}/${i}`, 'post', `/v1/volumes/${h.id}/freeze`, { reason: 'fault drill' }));
        else if (step === 1) outcomes.push(await call(`unfreeze ${w}/${i}`, 'post', `/v1/volumes/${h.id}/unfreeze`, { reason: 'fault drill over' }));
        else outcomes.push(await call(`request ${w}/${i}`, 'post', `/v1/volumes/${h.id}/quota-requests`, { hardBytes: 300 * MB + i, reason: 'need room' }));
      }
    };
    const writers = handles.map((h, w) => writer(h, w));
    await new Promise((r) => setTimeout(r, 400));
    const t0 = Date.now();
    await cluster.crash();
    const crashedAt = Date.now();
    // While down: /readyz is 503 and a call answers 503 quickly.
    const downReady: number[] = [];
    for (let i = 0; i < 5; i++) {
      downReady.push(await readyz());
      await new Promise((r) => setTimeout(r, 200));
    }
    const probe = await call('usage while down', 'get', `/v1/volumes/${handles[0]!.id}/enforcement`);
    const downFor = Date.now() - crashedAt;
    await cluster.start();
    const upAt = Date.now();
    let upReady = 0;
    for (let i = 0; i < 20 && upReady !== 200; i++) {
      upReady = await readyz();
      if (upReady !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    const readyAfter = Date.now() - upAt;
    await new Promise((r) => setTimeout(r, 600)); // writers keep going on the recovered server
    stop = true;
    await Promise.all(writers);

    expect(
      downReady.every((s) => s === 503),
      JSON.stringify(downReady),
    ).toBe(true);
    expect(upReady).toBe(200);
    expect(probe).toMatchObject({ status: 503, body: { code: 'dependency_unavailable' } });
    expect(probe.ms).toBeLessThan(1000);
    expectHeld([...outcomes, probe]);
    const refused = outcomes.filter((o) => o.status === 503);
    expect(refused.length, 'some writes were in flight while PostgreSQL was down').toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.status < 300).length).toBeGreaterThan(0);
    await expectNothingHalfWritten();

    // A freeze that committed may have lost its apply (PostgreSQL went away before it was
    // recorded): the first pass to complete carries it out.
    await firstCompletePass();
    await expectAgreement(handles);
    console.info(
      `[faults-postgres] API: ${outcomes.length} calls, ${refused.length} answered 503, slowest ${Math.max(...outcomes.map((o) => o.ms))} ms; ` +
        `503 on /enforcement in ${probe.ms} ms; down ${downFor} ms; ready ${readyAfter} ms after start; total ${Date.now() - t0} ms`,
    );
  }, 120_000);

  it('during a counters pass: the pass ends (no hang), nothing half-written, the first complete pass after recovery agrees', async () => {
    // Six volumes over their hard limit: the pass freezes them one by one (decide, commit,
    // apply, record); PostgreSQL crashes right after the first JuiceFS write of the pass.
    const handles = [];
    for (let i = 0; i < 6; i++) handles.push(await volume(`pass-${i}`, 30 * MB, { softBytes: 10 * MB, hardBytes: 20 * MB }));
    let restarted: Promise<void> | undefined;
    onSetLimits = async () => {
      await cluster.crash();
      restarted = new Promise((r) => setTimeout(r, 1500)).then(() => cluster.start());
    };
    const t0 = Date.now();
    const pass = await t.services.enforcement.countersPass().then(
      (counts) => ({ ok: true as const, counts }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    const passMs = Date.now() - t0;
    expect(onSetLimits, 'the crash happened during the pass').toBeUndefined();
    expect(passMs).toBeLessThan(15_000);
    await restarted;
    await expectNothingHalfWritten();
    const t1 = Date.now();
    const after = await firstCompletePass();
    const convergeMs = Date.now() - t1;
    expect(after.readFailed).toBe(0);
    await expectAgreement(handles);
    for (const h of handles) expect((await view(h.id)).state, h.id).toBe('frozen');
    // A second pass finds nothing left to do: the first one converged.
    expect(await t.services.enforcement.countersPass()).toMatchObject({ transitions: 0, limitWrites: 0, errors: 0 });
    console.info(`[faults-postgres] pass: crashed pass ended in ${passMs} ms (${pass.ok ? 'completed' : 'failed'}); converged ${convergeMs} ms after the restart`);
  }, 120_000);
});
