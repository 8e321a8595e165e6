/** Who is calling, as proven by a verified token, and what that lets them see. */

/** The roles Headroom knows; anything else in a token is rejected with 401. */
export const roles = ['admin', 'platform', 'engineer'] as const;
export type Role = (typeof roles)[number];

/**
 * A verified caller. Engineers carry the tenants they belong to in the token (`tenants` claim):
 * membership lives with the identity provider that mints tokens, not in Headroom's database.
 */
export interface Principal {
  sub: string;
  role: Role;
  tenants: readonly string[];
}

/** True when `p` may read tenant-scoped data of `tenantId` (admins and the platform see all). */
export function canSeeTenant(p: Principal, tenantId: string): boolean {
  return p.role !== 'engineer' || p.tenants.includes(tenantId);
}

/** The tenant filter to apply to list queries: `undefined` = no filter (all tenants). */
export function visibleTenants(p: Principal): readonly string[] | undefined {
  return p.role === 'engineer' ? p.tenants : undefined;
}
