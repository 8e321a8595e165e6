/**
 * Request bodies, read only where the contract takes one. An operation that declares a
 * `requestBody` gets its body parsed as JSON, and a body sent in any other media type is a 415
 * (it used to be skipped silently, so an approve sent as text/plain went through as "no
 * changes"). Every other operation never reads its body: nothing a client sends there can be
 * acted on, or fail (too large, corrupt gzip, too deep) with a status the operation does not
 * declare.
 */
import express, { type RequestHandler } from 'express';
import { errors } from '../lib/errors.js';

/** Media types read as JSON: `application/json` and the `+json` family. */
export const JSON_TYPES = ['application/json', 'application/*+json'];

interface BodyRoute {
  method: string;
  re: RegExp;
  required: boolean;
}

/** The method and path pattern of every operation in `spec` that declares a request body. */
export function bodyRoutes(spec: Record<string, unknown>): BodyRoute[] {
  const paths = (spec.paths ?? {}) as Record<string, Record<string, { requestBody?: { required?: boolean } }>>;
  return Object.entries(paths).flatMap(([template, item]) =>
    Object.entries(item)
      .filter(([, op]) => op && typeof op === 'object' && op.requestBody)
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        re: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
        required: op.requestBody?.required === true,
      })),
  );
}

/** Whether a request carries body bytes (`Content-Length: 0`, as `curl -X POST` sends, is none). */
function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/** Parses JSON bodies of the operations that take one (see the module comment). */
export function jsonBodies(spec: Record<string, unknown>, limit: string): RequestHandler {
  const routes = bodyRoutes(spec);
  // The media type is checked here, so the parser reads whatever reaches it.
  const parse = express.json({ limit, strict: true, type: () => true });
  return (req, res, next) => {
    const route = routes.find((r) => r.method === req.method && r.re.test(req.path));
    if (!route) return next();
    if (!hasBody(req.headers)) {
      // The OpenAPI validator lets an absent body through to the handler even when it is
      // required (an empty PATCH reached the service as `undefined`: 500).
      return next(route.required ? errors.validation('body is required (a JSON object)', [{ path: '/body', message: 'is required' }]) : undefined);
    }
    if (!req.is(JSON_TYPES)) {
      const got = req.headers['content-type'] ? `"${req.headers['content-type']}"` : 'no Content-Type';
      return next(errors.unsupportedMediaType(`the body must be application/json (got ${got})`));
    }
    parse(req, res, next);
  };
}
