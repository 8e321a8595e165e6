/**
 * Maps every error to problem+json with its true status. Errors from the body parser are
 * translated into catalog errors so clients always see a stable `code` (the request validator,
 * `request-validator.ts`, raises catalog errors itself).
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { isPostgresUnavailable } from '../db/database.js';
import { DependencyUnavailableError } from '../lib/deadline.js';
import { ApiError, errors, toProblem } from '../lib/errors.js';
import { forNonAdmin } from '../lib/redact.js';
import './request-context.js';

function isBodyReadError(err: unknown): boolean {
  const e = err as { status?: number; code?: unknown; type?: unknown; errors?: unknown };
  if (typeof e !== 'object' || e === null || e.status !== 400 || Array.isArray(e.errors)) return false;
  return (typeof e.code === 'string' && e.code.startsWith('Z_')) || e.type === 'request.size.invalid' || e.type === 'request.aborted';
}

/** Turns a foreign error into an {@link ApiError}, or undefined for a real 500. */
function translate(err: unknown, bodyLimit: string): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof DependencyUnavailableError) return errors.dependencyUnavailable(err.dependency, err.message);
  // PostgreSQL down or restarting: the driver's raw error would otherwise be a 500.
  if (isPostgresUnavailable(err)) return errors.dependencyUnavailable('PostgreSQL', `PostgreSQL: cannot be reached or the connection was lost (${(err as Error).message}); try again`);
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.parse.failed') return errors.malformedJson(e.message ?? 'could not parse the body');
  if (e?.type === 'entity.too.large') return errors.payloadTooLarge(bodyLimit);
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return errors.unsupportedMediaType(e.message ?? '');
  // The body parser passes on, as a bare 400, what failed while reading the bytes: a corrupt
  // gzip/deflate/br stream (zlib's Z_* codes), a body shorter or longer than its Content-Length.
  if (isBodyReadError(err)) return errors.unreadableBody(`the body could not be read: ${e.message ?? 'unknown error'}`);
  return undefined;
}

/**
 * The last middleware: renders problem+json and logs unexpected errors with the request id.
 * Only admins see details naming internal hosts, ports and paths (see `lib/redact.ts`).
 */
export function errorMiddleware(log: Logger, bodyLimit: string): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const apiError = translate(err, bodyLimit);
    const requestId = String(req.id ?? '');
    if (!apiError) {
      log.error({ err, requestId }, 'unhandled error');
      const problem = toProblem(new ApiError(500, 'internal_error', 'Internal error', 'an unexpected error occurred; it has been logged'), requestId);
      res.status(500).type('application/problem+json').send(JSON.stringify(problem));
      return;
    }
    const shown = req.principal?.role === 'admin' ? apiError : forNonAdmin(apiError);
    // What the caller no longer sees stays findable by request id.
    if (shown !== apiError && apiError.status >= 500) log.warn({ requestId, code: apiError.code, detail: apiError.message }, 'dependency failure (detail hidden from the caller)');
    res
      .status(shown.status)
      .type('application/problem+json')
      .send(JSON.stringify(toProblem(shown, requestId)));
  };
}

/** 404 for paths no route matched (outside the OpenAPI-validated tree). */
export const notFoundMiddleware: RequestHandler = (req, _res, next) => next(errors.routeNotFound(req.method, req.path));
