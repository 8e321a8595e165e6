/**
 * HS256 bearer tokens. Verification pins the algorithm (so `alg: none` and RS/HS confusion are
 * rejected), requires `exp`, the issuer, a subject and a known role, caps the lifetime
 * (`exp - iat`) and refuses critical header extensions (`crit`, RFC 7515 4.1.11).
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { roles, type Principal, type Role } from './principal.js';

/** Why a token was refused; the HTTP layer turns it into a 401 with `code`. */
export class TokenError extends Error {
  constructor(
    message: string,
    readonly code: 'unauthenticated' | 'token_lifetime_exceeded' = 'unauthenticated',
  ) {
    super(message);
    this.name = 'TokenError';
  }
}

/** Signing/verification settings (a slice of the app config plus the resolved secret). */
export interface TokenSettings {
  secret: string;
  issuer: string;
}

// jsonwebtoken, given a string secret, first tries to parse it as a PEM public key and throws;
// that failed parse dominated request CPU (bench:api). A KeyObject, built once, skips it.
const keyCache = new Map<string, KeyObject>();
function secretKey(secret: string): KeyObject {
  let key = keyCache.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keyCache.set(secret, key);
  }
  return key;
}

/** What verification needs beyond signing: the longest lifetime a token may have. */
export interface VerifySettings extends TokenSettings {
  /** Largest `exp - iat` accepted (`JWT_MAX_LIFETIME_SECONDS`). */
  maxLifetimeSeconds: number;
}

/** Verifies a compact JWT and returns the caller, or throws {@link TokenError}. */
export function verifyToken(token: string, s: VerifySettings): Principal {
  let claims: jwt.JwtPayload;
  try {
    const decoded = jwt.verify(token, secretKey(s.secret), { algorithms: ['HS256'], issuer: s.issuer, clockTolerance: 5, complete: true });
    // jsonwebtoken ignores `crit`; the RFC says a recipient must refuse extensions it does not
    // implement, and Headroom implements none.
    if ((decoded.header as { crit?: unknown }).crit !== undefined) throw new TokenError('token has critical header extensions (crit), which Headroom does not support');
    if (typeof decoded.payload === 'string') throw new TokenError('token payload must be a JSON object');
    claims = decoded.payload;
  } catch (err) {
    if (err instanceof TokenError) throw err;
    const e = err as Error;
    if (e.name === 'TokenExpiredError') throw new TokenError('token expired');
    throw new TokenError(`invalid token: ${e.message}`);
  }
  if (typeof claims.exp !== 'number') throw new TokenError('token has no expiry (exp); tokens must expire', 'token_lifetime_exceeded');
  // A leaked long-lived token stays a key for its whole life, so the lifetime is capped. It
  // counts from `iat`, or from now when `iat` is missing or in the future (a token "issued"
  // next year would otherwise be valid until then plus the maximum).
  const now = Math.floor(Date.now() / 1000);
  const issued = typeof claims.iat === 'number' ? Math.min(claims.iat, now) : now;
  if (claims.exp - issued > s.maxLifetimeSeconds) {
    throw new TokenError(`token lifetime (exp - iat = ${claims.exp - issued} s) exceeds the maximum of ${s.maxLifetimeSeconds} s (JWT_MAX_LIFETIME_SECONDS)`, 'token_lifetime_exceeded');
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new TokenError('token has no subject (sub)');
  const role = claims.role as unknown;
  if (typeof role !== 'string' || !(roles as readonly string[]).includes(role)) {
    throw new TokenError(`unknown role ${JSON.stringify(role)}`);
  }
  const tenants = claims.tenants ?? [];
  if (!Array.isArray(tenants) || !tenants.every((t) => typeof t === 'string')) {
    throw new TokenError('claim "tenants" must be an array of tenant ids');
  }
  return { sub: claims.sub, role: role as Role, tenants };
}

/** Mints a token (used by `npm run token` and tests). */
export function signToken(s: TokenSettings, p: { sub: string; role: string; tenants?: string[] }, expiresInSeconds = 3600): string {
  return jwt.sign({ role: p.role, ...(p.tenants ? { tenants: p.tenants } : {}) }, s.secret, {
    algorithm: 'HS256',
    subject: p.sub,
    issuer: s.issuer,
    expiresIn: expiresInSeconds,
  });
}
