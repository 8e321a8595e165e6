/**
 * PostgreSQL TEXT cannot hold a NUL character, and other C0 control characters in names and
 * reasons only confuse the people who read them later. Bodies and query strings carrying them
 * are refused up front with one clear code, instead of failing half-way inside a transaction.
 */
import type { RequestHandler } from 'express';
import { ApiError } from '../lib/errors.js';

// Tab, line feed and carriage return are ordinary text (reasons, templates).
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

/** The JSON-pointer-like path of the first string (or key) in `value` Headroom cannot store. */
export function findUnstorable(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path || '/' : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = findUnstorable(value[i], `${path}/${i}`);
      if (p) return p;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (UNSTORABLE.test(k)) return `${path}/${k.replace(UNSTORABLE, '?')}`;
      const p = findUnstorable(v, `${path}/${k}`);
      if (p) return p;
    }
  }
  return undefined;
}

/** 400 `invalid_characters` for a body or query holding a control character Headroom cannot store. */
export const storableStrings: RequestHandler = (req, _res, next) => {
  const inBody = findUnstorable(req.body, '/body');
  const inQuery = inBody ?? findUnstorable(req.query, '/query');
  const where = inBody ?? inQuery;
  if (!where) return next();
  next(
    new ApiError(400, 'invalid_characters', 'Request holds characters that cannot be stored', `${where} holds a NUL or another control character; remove it`, {
      errors: [{ path: where, message: 'must not contain control characters' }],
    }),
  );
};
