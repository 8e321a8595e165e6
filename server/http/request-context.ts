/** What the HTTP layer attaches to every request. */
import type { Request } from 'express';
import type { Principal } from '../auth/principal.js';
import { errors } from '../lib/errors.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the auth middleware on every /v1 route. */
    principal?: Principal;
  }
}

/** The verified caller; routes behind `authenticate` always have one. */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw errors.unauthenticated('no verified caller on this request');
  return req.principal;
}

/** The request id (from `X-Request-Id` or generated) for audit rows and problem `instance`. */
export function requestIdOf(req: Request): string {
  return req.id ?? '';
}

/** The audit actor of a request. */
export function actorOf(req: Request): { sub: string; role: string; requestId: string } {
  const p = principalOf(req);
  return { sub: p.sub, role: p.role, requestId: requestIdOf(req) };
}
