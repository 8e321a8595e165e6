/**
 * What an error may tell a caller who is not an admin. Details are written for operators and
 * often quote a lower layer ("connect ECONNREFUSED 10.0.3.7:2379", a file under DATA_DIR, the
 * Redis server a pool belongs to); only admins run the platform, so only they see those. Others
 * get the same status and code with the internals taken out, and for a dependency that failed,
 * a generic detail naming only its kind ("metadata engine (etcd)").
 */
import { ApiError } from './errors.js';

// Order matters: whole URLs first, so their host and path are not redacted piecemeal.
const PATTERNS: [RegExp, string][] = [
  // A URL does not end with the punctuation that follows it in a sentence.
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'()<>,;]*[^\s"'()<>,;:.]/gi, '<url>'],
  [/\[[0-9a-f:.]+\](?::\d{1,5})?/gi, '<address>'],
  [/(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])/g, '<address>'],
  // host:port, the host starting with a letter (a time of day such as 10:30 is not a host).
  [/(?<![\w.-])[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*:\d{2,5}\b/gi, '<address>'],
  // Absolute file paths with at least two segments; API paths (/v1/...) stay, callers sent them.
  [/(?<![\w.:/-])\/(?!v1\/)(?:[\w.@~+-]+\/)+[\w.@~+-]*/g, '<path>'],
];

/** `text` with URLs, addresses (IP or host with a port) and file paths replaced by placeholders. */
export function redactInternals(text: string): string {
  let out = text;
  for (const [re, placeholder] of PATTERNS) out = out.replace(re, placeholder);
  return out;
}

/** Generic details of the 503s, by code: what failed, never where. */
const UNAVAILABLE: Record<string, string> = {
  metadata_unavailable: 'the metadata engine',
  unavailable: 'a service Headroom depends on',
};

/**
 * The error as a non-admin sees it: a 503 names only the kind of dependency that failed; any
 * other detail (and the `dependency` field) has its internals redacted. Status and code stay.
 */
export function forNonAdmin(err: ApiError): ApiError {
  if (err.status === 503) {
    const kind = typeof err.extra.dependency === 'string' ? redactInternals(err.extra.dependency) : (UNAVAILABLE[err.code] ?? 'a service Headroom depends on');
    const extra = typeof err.extra.dependency === 'string' ? { ...err.extra, dependency: kind } : err.extra;
    return new ApiError(err.status, err.code, err.title, `${kind} did not answer in time or could not be reached; try again later`, extra);
  }
  const detail = redactInternals(err.message);
  const extra = typeof err.extra.dependency === 'string' ? { ...err.extra, dependency: redactInternals(err.extra.dependency) } : err.extra;
  return detail === err.message && extra === err.extra ? err : new ApiError(err.status, err.code, err.title, detail, extra);
}
