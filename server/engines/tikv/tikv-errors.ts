/** Typed errors of the TiKV client (its retries back off through `backoff.ts`). */

/** Stable causes, so callers and logs can tell them apart. */
export type TikvErrorCause =
  'pd_unavailable' | 'pd_error' | 'pd_cluster_mismatch' | 'tso_unavailable' | 'store_unavailable' | 'region_without_peers' | 'region_unavailable' | 'key_error' | 'lock_unresolved' | 'undetermined';

/** A TiKV client failure; `regionId` names the region when one was involved. */
export class TikvError extends Error {
  readonly regionId?: bigint;
  readonly pdErrorType?: number;
  constructor(
    readonly cause_: TikvErrorCause,
    message: string,
    extra: { regionId?: bigint; pdErrorType?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: extra.cause });
    this.name = 'TikvError';
    this.regionId = extra.regionId;
    this.pdErrorType = extra.pdErrorType;
  }
}

/** A key error TiKV returned for `method` (abort, retryable or anything else it said). */
export function keyError(method: string, e: any): TikvError {
  return new TikvError('key_error', `${method}: ${e.abort || e.retryable || JSON.stringify(e)}`);
}
