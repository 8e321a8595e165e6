/**
 * The inputs of directory quota use cases after OpenAPI validation, and the small helpers that
 * turn them into domain values: limits as bigints, the path's bytes, metadata errors as 503s.
 */
import { DependencyUnavailableError } from '../lib/deadline.js';
import { ApiError, errors } from '../lib/errors.js';
import { NativeQuotaUnsupportedError } from '../meta/volume-metadata.js';
import type { Quota } from '../volumes/volume.js';
import { dirQuotaErrors } from './directory-quota-errors.js';

/** A limit in a body: a number, null to lift it, or omitted. */
export type Limit = number | null | undefined;

/** The create body after OpenAPI validation. */
export interface CreateDirectoryQuotaInput {
  path?: string;
  pathBase64?: string;
  softBytes?: number;
  hardBytes?: number;
  softInodes?: number;
  hardInodes?: number;
  graceSeconds?: number;
  ownerSub?: string;
}

/** The update body: a limit set to null is lifted, an omitted one kept. */
export interface UpdateDirectoryQuotaInput {
  softBytes?: Limit;
  hardBytes?: Limit;
  softInodes?: Limit;
  hardInodes?: Limit;
  graceSeconds?: number;
  ownerSub?: string | null;
  takeOver?: boolean;
}

/** What the service needs. */

/** A body limit as a domain limit (null = unlimited). */
export const big = (x: Limit): bigint | null => (x === null || x === undefined ? null : BigInt(x));
/** The limits of a create body (absent = unlimited; grace 0 by default). */
export const quotaOf = (input: Omit<CreateDirectoryQuotaInput, 'path' | 'pathBase64'>): Quota => ({
  softBytes: big(input.softBytes),
  hardBytes: big(input.hardBytes),
  softInodes: big(input.softInodes),
  hardInodes: big(input.hardInodes),
  graceSeconds: input.graceSeconds ?? 0,
});
/** Whether a quota has a hard limit. */
export const hasHard = (q: Quota) => q.hardBytes !== null || q.hardInodes !== null;

/** Runs a metadata call; failures other than the API's own become 503s (never a 500). */
export async function meta<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ApiError || err instanceof DependencyUnavailableError) throw err;
    if (err instanceof NativeQuotaUnsupportedError) throw dirQuotaErrors.nativeUnsupported(err.message);
    throw errors.metadataUnavailable(`reading the volume's JuiceFS metadata failed: ${(err as Error).message}`);
  }
}

/** The path's bytes from `path` (UTF-8) or `pathBase64` (any bytes); exactly one must be given. */
export function pathOf(input: { path?: string; pathBase64?: string }): Buffer {
  if ((input.path === undefined) === (input.pathBase64 === undefined))
    throw errors.validation('give exactly one of path and pathBase64', [{ path: '/path', message: 'exactly one of path and pathBase64' }]);
  const p = input.path !== undefined ? Buffer.from(input.path, 'utf8') : Buffer.from(input.pathBase64!, 'base64');
  if (!p.length || p[0] !== 0x2f || p.includes(0))
    throw errors.validation('the path must be absolute (start with /) and hold no NUL byte', [{ path: input.path !== undefined ? '/path' : '/pathBase64', message: 'must start with /' }]);
  return p;
}
