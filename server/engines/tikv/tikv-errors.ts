/** Typed errors of the TiKV client and the backoff used between retries. */

/** Stable causes, so callers and logs can tell them apart. */
export type TikvErrorCause =
  | 'pd_unavailable'
  | 'pd_error'
  | 'pd_cluster_mismatch'
  | 'tso_unavailable'
  | 'store_unavailable'
  | 'region_without_peers'
  | 'region_unavailable'
  | 'key_error'
  | 'lock_unresolved'
  | 'undetermined';

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

/** Exponential backoff with full jitter: `base·2^attempt` capped at `cap` ms. */
export function backoff(attempt: number, base: number, cap: number): Promise<void> {
  const ms = Math.random() * Math.min(cap, base * 2 ** attempt);
  return new Promise((r) => setTimeout(r, ms));
}
