/**
 * HS256 bearer tokens. Verification pins the algorithm (so `alg: none` and RS/HS confusion are
 * rejected), requires `exp`, the issuer, a subject and a known role.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { roles, type Principal, type Role } from './principal.js';

/** Why a token was refused; the HTTP layer turns it into a 401. */
export class TokenError extends Error {
  constructor(message: string) {
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

/** Verifies a compact JWT and returns the caller, or throws {@link TokenError}. */
export function verifyToken(token: string, s: TokenSettings): Principal {
  let claims: jwt.JwtPayload;
  try {
    const decoded = jwt.verify(token, secretKey(s.secret), { algorithms: ['HS256'], issuer: s.issuer, clockTolerance: 5 });
    if (typeof decoded === 'string') throw new TokenError('token payload must be a JSON object');
    claims = decoded;
  } catch (err) {
    if (err instanceof TokenError) throw err;
    const e = err as Error;
    if (e.name === 'TokenExpiredError') throw new TokenError('token expired');
    throw new TokenError(`invalid token: ${e.message}`);
  }
  if (claims.exp === undefined) throw new TokenError('token has no expiry (exp)');
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
