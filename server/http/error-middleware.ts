/**
 * Maps every error to problem+json with its true status. Errors from the OpenAPI validator and
 * body parser are translated into catalog errors so clients always see a stable `code`.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { DependencyUnavailableError } from '../lib/deadline.js';
import { ApiError, errors, toProblem } from '../lib/errors.js';

interface ValidatorError {
  status: number;
  message: string;
  errors?: { path?: string; message?: string }[];
}

function isValidatorError(err: unknown): err is ValidatorError {
  return typeof err === 'object' && err !== null && typeof (err as ValidatorError).status === 'number' && Array.isArray((err as ValidatorError).errors);
}

function isBodyReadError(err: unknown): boolean {
  const e = err as { status?: number; code?: unknown; type?: unknown; errors?: unknown };
  if (typeof e !== 'object' || e === null || e.status !== 400 || Array.isArray(e.errors)) return false;
  return (typeof e.code === 'string' && e.code.startsWith('Z_')) || e.type === 'request.size.invalid' || e.type === 'request.aborted';
}

/** Turns a foreign error into an {@link ApiError}, or undefined for a real 500. */
function translate(err: unknown, method: string, path: string, bodyLimit: string): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof DependencyUnavailableError) return errors.dependencyUnavailable(err.dependency, err.message);
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.parse.failed') return errors.malformedJson(e.message ?? 'could not parse the body');
  if (e?.type === 'entity.too.large') return errors.payloadTooLarge(bodyLimit);
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return errors.unsupportedMediaType(e.message ?? '');
  // The body parser passes on, as a bare 400, what failed while reading the bytes: a corrupt
  // gzip/deflate/br stream (zlib's Z_* codes), a body shorter or longer than its Content-Length.
  if (isBodyReadError(err)) return errors.unreadableBody(`the body could not be read: ${e.message ?? 'unknown error'}`);
  if (isValidatorError(err)) {
    if (err.status === 404) return errors.routeNotFound(method, path);
    if (err.status === 405) return errors.methodNotAllowed(method, path);
    if (err.status === 415) return errors.unsupportedMediaType(err.message);
    if (err.status === 413) return errors.payloadTooLarge(bodyLimit);
    if (err.status === 401) return errors.unauthenticated(err.message);
    if (err.status === 400) {
      const problems = (err.errors ?? []).map((x) => ({ path: x.path ?? '', message: x.message ?? '' }));
      const detail = problems.map((p) => `${p.path.replace(/^\/(body|query|params|headers)\/?/, '$1.').replace(/\//g, '.')} ${p.message}`).join('; ');
      return errors.validation(detail || err.message, problems);
    }
  }
  return undefined;
}

/** The last middleware: renders problem+json and logs unexpected errors with the request id. */
export function errorMiddleware(log: Logger, bodyLimit: string): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const apiError = translate(err, req.method, req.path, bodyLimit);
    const requestId = String(req.id ?? '');
    if (!apiError) {
      log.error({ err, requestId }, 'unhandled error');
      const problem = toProblem(new ApiError(500, 'internal_error', 'Internal error', 'an unexpected error occurred; it has been logged'), requestId);
      res.status(500).type('application/problem+json').send(JSON.stringify(problem));
      return;
    }
    res
      .status(apiError.status)
      .type('application/problem+json')
      .send(JSON.stringify(toProblem(apiError, requestId)));
  };
}

/** 404 for paths no route matched (outside the OpenAPI-validated tree). */
export const notFoundMiddleware: RequestHandler = (req, _res, next) => next(errors.routeNotFound(req.method, req.path));
