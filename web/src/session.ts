/**
 * The signed-in caller: a bearer token kept in session storage (gone when the tab closes), and
 * the claims read from it for display and routing only. The server verifies the token on every
 * call; nothing here is trusted for access.
 */

const KEY = 'headroom.token';

/** What the pages need to know about the caller. */
export interface Caller {
  token: string;
  sub: string;
  role: 'admin' | 'platform' | 'engineer';
  tenants: string[];
  /** Expiry, in ms since the epoch (undefined when the token has none). */
  expiresAt: number | undefined;
}

/**
 * Moves a token from a sign-in link (`/ui/#token=…`) into session storage and takes it off the
 * address bar at once, so it is not left in the history, bookmarks or a screenshot.
 */
export function takeTokenFromLink(): void {
  const m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!m?.[1]) return;
  sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
}

/** Decodes a JWT's payload (no verification: the server does that). */
export function readClaims(token: string): Caller | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const json = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)))) as Record<string, unknown>;
    const role = json.role;
    if (role !== 'admin' && role !== 'platform' && role !== 'engineer') return undefined;
    const tenants = Array.isArray(json.tenants) ? json.tenants.filter((t): t is string => typeof t === 'string') : [];
    return { token, sub: String(json.sub ?? ''), role, tenants, expiresAt: typeof json.exp === 'number' ? json.exp * 1000 : undefined };
  } catch {
    return undefined;
  }
}

/** The stored caller, if a usable token is stored. */
export function currentCaller(): Caller | undefined {
  const token = sessionStorage.getItem(KEY);
  return token ? readClaims(token) : undefined;
}

/** Stores a pasted token; returns the caller, or undefined when it is not a Headroom token. */
export function signIn(token: string): Caller | undefined {
  const caller = readClaims(token.trim());
  if (caller) sessionStorage.setItem(KEY, caller.token);
  return caller;
}

/** Forgets the token. */
export function signOut(): void {
  sessionStorage.removeItem(KEY);
}
