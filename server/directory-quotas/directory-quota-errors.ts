/**
 * The errors of directory quotas, as {@link ApiError}s with their own stable codes (the shared
 * catalog in `lib/errors.ts` holds the generic ones, which this feature uses too).
 */
import { ApiError } from '../lib/errors.js';

/** Factories, one per error this feature can return. */
export const dirQuotaErrors = {
  notFound: (id: string) => new ApiError(404, 'directory_quota_not_found', 'Directory quota not found', `directory quota "${id}" does not exist`),
  directoryNotFound: (path: string) =>
    new ApiError(
      422,
      'directory_not_found',
      'Directory not found',
      `"${path}" is not an existing directory of the volume (paths are resolved through JuiceFS's dentries; "." and ".." are not allowed)`,
    ),
  exists: (path: string, id: string) => new ApiError(409, 'directory_quota_exists', 'Directory already has a quota', `directory "${path}" already has quota "${id}"`, { quotaId: id }),
  foreign: (path: string) =>
    new ApiError(
      409,
      'directory_quota_unmanaged',
      'Quota set outside Headroom',
      `directory "${path}" already has a JuiceFS quota that Headroom did not set; discover it (POST …/directory-quotas/discover) and have an admin take it over instead of overwriting it`,
    ),
  unmanaged: (id: string, action: string) =>
    new ApiError(
      409,
      'directory_quota_unmanaged',
      'Quota not managed by Headroom',
      `cannot ${action} directory quota "${id}": it was set outside Headroom; an admin must take it over first (PATCH with "takeOver": true)`,
    ),
  nativeUnsupported: (reason: string) =>
    new ApiError(
      409,
      'native_quota_unsupported',
      'No native quotas on this volume',
      `${reason}. Soft limits, warnings and requests still work from walk figures, but Headroom will not enforce a hard limit on one directory by freezing the whole volume`,
      { reason },
    ),
  notManuallyFrozen: (id: string, state: string) =>
    new ApiError(
      409,
      'not_manually_frozen',
      'No manual freeze to lift',
      `directory quota "${id}" has no admin freeze (it is ${state}); a freeze by policy ends when usage falls below the soft limit minus the margin, or when its quota is raised`,
    ),
  takeOverNeedsAdmin: () => new ApiError(403, 'forbidden', 'Not allowed', 'only an admin can take over a quota set outside Headroom'),
  /** The twin of the volumes' `request_pending`: one pending request per directory quota. */
  requestPending: (id: string, pendingId: string) =>
    new ApiError(409, 'request_pending', 'A request is already pending', `directory quota "${id}" already has a pending request (${pendingId}); cancel it or wait for the decision`, {
      pendingRequestId: pendingId,
    }),
  repairNeedsAdmin: () => new ApiError(403, 'forbidden', 'Not allowed', 'only an admin can repair a quota record'),
};
