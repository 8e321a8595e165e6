/** Bearer-token authentication and role checks for /v1 routes. */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Role } from '../auth/principal.js';
import { TokenCache } from '../auth/token-cache.js';
import { TokenError, verifyToken, type VerifySettings } from '../auth/tokens.js';
import { errors } from '../lib/errors.js';
import './request-context.js';

/** Verifies `Authorization: Bearer <jwt>`; any failure is a 401 that says why. */
export function authenticate(settings: VerifySettings, cache = new TokenCache()): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    if (!header) return next(errors.unauthenticated('missing Authorization header (expected "Bearer <token>")'));
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) return next(errors.unauthenticated('Authorization header must be "Bearer <token>"'));
    const token = m[1]!;
    const known = cache.get(token);
    if (known) {
      req.principal = known;
      return next();
    }
    try {
      req.principal = verifyToken(token, settings);
      cache.set(token, req.principal);
      next();
    } catch (err) {
      next(err instanceof TokenError ? (err.code === 'token_lifetime_exceeded' ? errors.tokenLifetime(err.message) : errors.unauthenticated(err.message)) : err);
    }
  };
}

/** Allows only the listed roles; others get 403 (they are authenticated, just not allowed). */
export function requireRole(...allowed: Role[]): RequestHandler {
  return (req, _res, next) => {
    const role = req.principal?.role;
    if (!role) return next(errors.unauthenticated('no verified caller'));
    if (!allowed.includes(role)) {
      return next(errors.forbidden(`role "${role}" may not do this; needs one of: ${allowed.join(', ')}`));
    }
    next();
  };
}
