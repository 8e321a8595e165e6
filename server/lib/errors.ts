/**
 * One error hierarchy: every error the API returns carries its own HTTP status and a stable
 * machine `code`. The error middleware renders them as RFC 9457 problem+json; anything that is
 * not an {@link ApiError} becomes a 500 whose details stay in the log.
 */

/** An error with a true HTTP status, a stable code and a human detail. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

/** The catalog: one factory per error the API can return, so codes are greppable and stable. */
export const errors = {
  validation: (detail: string, problems: { path: string; message: string }[] = []) => new ApiError(400, 'validation_failed', 'Request is invalid', detail, problems.length ? { errors: problems } : {}),
  malformedJson: (detail: string) => new ApiError(400, 'malformed_json', 'Body is not valid JSON', detail),
  unreadableBody: (detail: string) => new ApiError(400, 'unreadable_body', 'Body cannot be read', detail),
  tooDeep: (path: string, max: number) =>
    new ApiError(400, 'nesting_too_deep', 'Body is nested too deeply', `${path} is nested more than ${max} levels deep`, { errors: [{ path, message: `must not nest more than ${max} levels` }] }),
  payloadTooLarge: (limit: string) => new ApiError(413, 'payload_too_large', 'Body too large', `request bodies are limited to ${limit}`),
  unsupportedMediaType: (detail: string) => new ApiError(415, 'unsupported_media_type', 'Unsupported media type', detail),
  unauthenticated: (detail: string) => new ApiError(401, 'unauthenticated', 'Authentication required', detail),
  tokenLifetime: (detail: string) => new ApiError(401, 'token_lifetime_exceeded', 'Token lifetime too long', detail),
  forbidden: (detail: string) => new ApiError(403, 'forbidden', 'Not allowed', detail),
  routeNotFound: (method: string, path: string) => new ApiError(404, 'not_found', 'Not found', `no route ${method} ${path}`),
  methodNotAllowed: (method: string, path: string) => new ApiError(405, 'method_not_allowed', 'Method not allowed', `${method} is not allowed on ${path}`),
  tenantNotFound: (tenantId: string) => new ApiError(404, 'tenant_not_found', 'Tenant not found', `tenant "${tenantId}" does not exist`),
  tenantExists: (tenantId: string) => new ApiError(409, 'tenant_exists', 'Tenant already exists', `tenant "${tenantId}" already exists with different details`),
  volumeNotFound: (volumeId: string) => new ApiError(404, 'volume_not_found', 'Volume not found', `volume "${volumeId}" does not exist`),
  volumeNameTaken: (tenantId: string, name: string) =>
    new ApiError(409, 'volume_name_taken', 'Volume name taken', `tenant "${tenantId}" already has a volume "${name}" created with a different body; use another name or repeat the original request`),
  volumeState: (volumeId: string, state: string, action: string) =>
    new ApiError(409, 'volume_state_conflict', 'Volume is in the wrong state', `cannot ${action} volume "${volumeId}" while it is ${state}`),
  quotaInvalid: (detail: string) => new ApiError(400, 'quota_invalid', 'Quota is invalid', detail),
  engineNotConfigured: (engine: string) => new ApiError(400, 'engine_not_configured', 'Engine not configured', `metadata engine "${engine}" is not configured on this server`),
  idempotencyKeyReused: () => new ApiError(422, 'idempotency_key_reused', 'Idempotency key reused', 'this Idempotency-Key was already used with a different request'),
  idempotencyInProgress: () => new ApiError(409, 'idempotency_in_progress', 'Request in progress', 'a request with this Idempotency-Key is still being processed'),
  walkNotFound: (walkId: string) => new ApiError(404, 'walk_not_found', 'Walk not found', `walk "${walkId}" does not exist`),
  volumeNotActive: (volumeId: string, state: string) => new ApiError(409, 'volume_not_active', 'Volume is not active', `volume "${volumeId}" is ${state}; only active volumes can be read or walked`),
  metadataUnavailable: (detail: string) => new ApiError(503, 'metadata_unavailable', 'Metadata engine unavailable', detail),
  invalidMetaUrl: (url: string, reason: string) => new ApiError(422, 'invalid_meta_url', 'Meta URL cannot be adopted', `"${url}": ${reason}`),
  prefixInUse: (prefix: string) => new ApiError(409, 'prefix_in_use', 'Prefix already managed', `prefix "${prefix}" belongs (or belonged) to another Headroom volume and is never reused`),
  notJuiceFs: (detail: string) => new ApiError(422, 'not_a_juicefs_volume', 'Not a JuiceFS volume', detail),
  badCursor: () => new ApiError(400, 'invalid_cursor', 'Cursor is invalid', 'the cursor is malformed or expired; start again without it'),
  notManuallyFrozen: (volumeId: string, state: string) =>
    new ApiError(
      409,
      'not_manually_frozen',
      'No manual freeze to lift',
      `volume "${volumeId}" has no admin freeze (it is ${state}); a freeze by policy ends when usage falls below the soft limit minus the margin, or when its quota is raised`,
    ),
  redisPoolExhausted: (server: string, size: number) =>
    new ApiError(
      409,
      'redis_pool_exhausted',
      'No Redis database left',
      `all ${size} databases of the Redis pool on ${server} are taken (each holds one volume and is never reused); widen REDIS_META_DBS or use another engine`,
    ),
  redisDbInUse: (server: string, db: number) =>
    new ApiError(409, 'prefix_in_use', 'Database already managed', `Redis database ${db} on ${server} belongs (or belonged) to another Headroom volume and is never reused`),
  aboveCeiling: (field: string, value: bigint, max: bigint) =>
    new ApiError(422, 'above_platform_ceiling', 'Above the platform ceiling', `${field} ${value} is above the platform-wide ceiling of ${max}; no quota on this platform can be that large`),
  requestNotFound: (id: string) => new ApiError(404, 'request_not_found', 'Quota request not found', `quota request "${id}" does not exist`),
  requestPending: (volumeId: string, pendingId: string) =>
    new ApiError(409, 'request_pending', 'A request is already pending', `volume "${volumeId}" already has a pending request (${pendingId}); cancel it or wait for the decision`, {
      pendingRequestId: pendingId,
    }),
  requestNotPending: (id: string, state: string) =>
    new ApiError(409, 'request_not_pending', 'Request already decided', `quota request "${id}" is ${state}; only pending requests can be approved, denied or cancelled`),
  requestBelowUsage: (detail: string) => new ApiError(422, 'request_below_usage', 'Below current usage', detail),
  notAnIncrease: (detail: string) => new ApiError(422, 'not_an_increase', 'Not an increase', detail),
  ruleNotFound: (id: string) => new ApiError(404, 'rule_not_found', 'Rule not found', `quota rule "${id}" does not exist`),
  jobNotFound: (name: string) => new ApiError(404, 'job_not_found', 'Job not found', `there is no job "${name}"`),
  jobRunNotFound: (id: string) => new ApiError(404, 'job_run_not_found', 'Job run not found', `job run "${id}" does not exist`),
  templateInvalid: (detail: string) => new ApiError(400, 'template_invalid', 'Template is invalid', detail),
  dependencyUnavailable: (dependency: string, detail: string) => new ApiError(503, 'dependency_unavailable', 'Dependency unavailable', detail, { dependency }),
  unavailable: (detail: string, dependency?: string) => new ApiError(503, 'unavailable', 'Service unavailable', detail, dependency ? { dependency } : {}),
  storageNotConfigured: () => new ApiError(409, 'storage_not_configured', 'Object storage not configured', 'this server has no SeaweedFS configured (SEAWEEDFS_*), so tenants have no storage keys'),
  noStorageIdentity: (tenantId: string) =>
    new ApiError(409, 'no_storage_identity', 'Tenant has no storage keys', `tenant "${tenantId}" has no storage keys yet; they are created with its first volume on object storage`),
  rateLimited: (retryAfterSeconds: number) =>
    new ApiError(429, 'rate_limited', 'Too many requests', `this caller sent more requests than its limit allows; retry after ${retryAfterSeconds} s (see Retry-After)`),
};

/** Body of an `application/problem+json` response (see openapi `Problem`). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  [k: string]: unknown;
}

/** Renders an {@link ApiError} as problem+json; `instance` is the request id for support. */
export function toProblem(err: ApiError, requestId?: string): Problem {
  return {
    type: `https://headroom.dev/problems/${err.code}`,
    title: err.title,
    status: err.status,
    detail: err.message,
    code: err.code,
    ...(requestId ? { instance: `urn:request:${requestId}` } : {}),
    ...err.extra,
  };
}
