/** HTTP route for `POST /v1/tenants/{tenantId}/storage-credentials/rotate`. */
import express, { type Router } from 'express';
import { requireRole } from '../http/auth-middleware.js';
import { actorOf, principalOf } from '../http/request-context.js';
import type { RotatedKey, StorageCredentials } from './storage-credentials.js';

/** The API shape of a rotation (see openapi `RotatedStorageCredentials`). */
const presentRotation = (r: RotatedKey) => ({
  tenantId: r.tenantId,
  accessKey: r.accessKey,
  secretKey: r.secretKey,
  previousAccessKey: r.previousAccessKey,
  previousValidUntil: r.previousValidUntil.toISOString(),
});

/** Router for storage key rotation (admins, and engineers of the tenant). */
export function storageCredentialRoutes(service: StorageCredentials): Router {
  const r = express.Router();
  r.post('/v1/tenants/:tenantId/storage-credentials/rotate', requireRole('admin', 'engineer'), async (req, res) => {
    const out = await service.rotate(actorOf(req), principalOf(req), String(req.params.tenantId));
    // The secret is in this answer only: never stored by a browser, proxy or CLI cache.
    res.set('cache-control', 'no-store');
    res.json(presentRotation(out));
  });
  return r;
}
