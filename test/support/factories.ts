/**
 * Test data through the API, as clients make it: one call per thing, the defaults a test does not
 * care about filled in, the status checked. Tests name only what matters to them.
 */
import type supertest from 'supertest';
import { expect } from 'vitest';
import { request } from './api.js';

type App = Parameters<typeof supertest>[0];

/** Creates a tenant (201): `displayName` and `email` default from the id. */
export async function buildTenant(app: App, auth: string, t: { id: string; displayName?: string; email?: string } & Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await request(app)
    .post('/v1/tenants')
    .set('authorization', auth)
    .send({ displayName: t.id, email: `${t.id}@example.com`, ...t });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as Record<string, unknown>;
}

/** Creates a volume of `tenantId` (201) and returns the API's answer. */
export async function buildVolume(
  app: App,
  auth: string,
  tenantId: string,
  v: { name: string; quota?: object } & Record<string, unknown>,
): Promise<{ id: string; metaUrl: string } & Record<string, unknown>> {
  const res = await request(app).post(`/v1/tenants/${tenantId}/volumes`).set('authorization', auth).send(v);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; metaUrl: string } & Record<string, unknown>;
}
