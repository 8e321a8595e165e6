/**
 * Verified tokens, remembered for a short while. Checking an HS256 signature and the claims
 * costs more than the rest of a cheap read (about 5% of `GET /v1/volumes/{id}`), and clients send
 * the same token many times. A token is remembered by its exact text (signature included) for at
 * most a minute and never past its `exp`, so expiry is as strict as without the cache; there is no
 * revocation to miss (Headroom has none: a token is valid until it expires).
 */
import jwt from 'jsonwebtoken';
import type { Principal } from './principal.js';

const TTL_MS = 60_000;

/** A bounded map of token → principal (oldest entries leave first). */
export class TokenCache {
  private readonly entries = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly max = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The principal of a token verified before and still within its time here. */
  get(token: string): Principal | undefined {
    const e = this.entries.get(token);
    if (!e) return undefined;
    if (e.until <= this.now()) {
      this.entries.delete(token);
      return undefined;
    }
    return e.principal;
  }

  /** Remembers a token `verify` has just accepted. */
  set(token: string, principal: Principal): void {
    const exp = (jwt.decode(token) as { exp?: unknown } | null)?.exp;
    if (typeof exp !== 'number') return;
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { principal: Object.freeze(principal), until: Math.min(exp * 1000, this.now() + TTL_MS) });
  }
}
