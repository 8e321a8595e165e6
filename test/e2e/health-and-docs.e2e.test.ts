import { request } from '../support/api.js';
import { runJob } from '../support/jobs.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminQuery, pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

describe.skipIf(!pgAvailable())('health, metrics and docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('healthz and readyz answer without a token', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await request(t.http).get(path);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    }
  });

  it('every response carries a request id, and a sane given one is echoed', async () => {
    const res = await request(t.http).get('/healthz').set('X-Request-Id', 'abc-123');
    expect(res.headers['x-request-id']).toBe('abc-123');
    const gen = await request(t.http).get('/healthz').set('X-Request-Id', 'bad id with spaces');
    expect(gen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('metrics count requests by route template and status', async () => {
    await request(t.http)
      .get('/v1/volumes/vol_00000000000000000000000000')
      .set('authorization', `Bearer ${t.token('admin')}`);
    const res = await request(t.http).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/http_requests_total\{method="GET",route="\/v1\/volumes\/:volumeId",status="404"\} 1/);
    expect(res.text).toMatch(/^http_request_duration_seconds_count\{method="GET",route="\/v1\/volumes\/:volumeId",status="404"\} 1$/m);
  });

  it('readyz is 503 when the database is gone', async () => {
    const other = await createTestApp();
    // Gone for every pool of the app (readiness has its own): the database itself is dropped.
    const name = new URL(other.database.url).pathname.slice(1);
    await adminQuery(inject('pgAdminUrl'), `DROP DATABASE ${name} WITH (FORCE)`);
    const res = await request(other.http).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('unavailable');
    await other.close().catch(() => {});
  });

  it('serves the spec as JSON and Swagger UI at /docs', async () => {
    const spec = await request(t.http).get('/openapi.json');
    expect(spec.status).toBe(200);
    expect(spec.body.openapi).toBe('3.1.0');
    expect(Object.keys(spec.body.paths)).toContain('/v1/tenants/{tenantId}/volumes');
    const docs = await request(t.http).get('/docs');
    expect(docs.text).toContain('/docs/init.js');
    const asset = await request(t.http).get('/docs/assets/swagger-ui-bundle.js');
    expect(asset.status).toBe(200);
    // The page's script is a file, so the CSP allows scripts from this origin only.
    expect(docs.text).not.toMatch(/<script>[^<]/);
    expect((await request(t.http).get('/docs/init.js')).text).toContain("url: '/openapi.json'");
    // The docs page and its assets are one route in the metrics, not `unmatched`.
    const metrics = (await request(t.http).get('/metrics')).text;
    expect(metrics).toMatch(/^http_requests_total\{method="GET",route="\/docs",status="200"\} 3$/m);
    expect(metrics).not.toMatch(/route="unmatched"/);
  });

  it("reports each job's last success and failure for alerting", async () => {
    const admin = `Bearer ${t.token('admin')}`;
    const before = (await request(t.http).get('/metrics')).text;
    expect(before).toMatch(/^headroom_job_last_success_timestamp_seconds\{job="counters"\} 0$/m);
    await runJob(t.http, 'counters', admin);
    const after = (await request(t.http).get('/metrics')).text;
    const at = Number(/^headroom_job_last_success_timestamp_seconds\{job="counters"\} (\S+)$/m.exec(after)?.[1]);
    expect(Math.abs(at - Date.now() / 1000)).toBeLessThan(60);
    expect(after).toMatch(/^headroom_job_last_run_failed\{job="counters"\} 0$/m);
    expect(after).toMatch(/^headroom_job_last_success_timestamp_seconds\{job="walks"\} 0$/m);
  });

  it('sends security headers everywhere, and no-store on API answers', async () => {
    const docs = await request(t.http).get('/docs');
    expect(docs.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(docs.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    expect(docs.headers['x-content-type-options']).toBe('nosniff');
    expect(docs.headers['strict-transport-security']).toBeDefined();
    const api = await request(t.http)
      .get('/v1/tenants')
      .set('authorization', `Bearer ${t.token('admin')}`);
    expect(api.headers['cache-control']).toBe('no-store');
    const denied = await request(t.http).get('/v1/tenants');
    expect(denied.headers['cache-control']).toBe('no-store');
  });

  it('puts /metrics behind METRICS_TOKEN when it is set', async () => {
    const guarded = await createTestApp({ METRICS_TOKEN: 'metrics-token-0123456789' });
    try {
      expect((await request(guarded.http).get('/metrics')).status).toBe(401);
      expect((await request(guarded.http).get('/metrics').set('authorization', 'Bearer metrics-token-wrong-0000')).status).toBe(401);
      const ok = await request(guarded.http).get('/metrics').set('authorization', 'Bearer metrics-token-0123456789');
      expect(ok.status).toBe(200);
      expect(ok.text).toMatch(/^# HELP/m);
    } finally {
      await guarded.close();
    }
  });
});
