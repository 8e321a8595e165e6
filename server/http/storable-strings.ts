/**
 * PostgreSQL TEXT cannot hold a NUL character, and other C0 control characters in names and
 * reasons only confuse the people who read them later. Bodies and query strings carrying them
 * are refused up front with one clear code, instead of failing half-way inside a transaction.
 */
import type { RequestHandler } from 'express';
import { ApiError, errors } from '../lib/errors.js';

// Tab, line feed and carriage return are ordinary text (reasons, templates).
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

/** Deepest nesting a body or query may have; no request schema comes close (quota rules: 3). */
export const MAX_DEPTH = 32;

/** What {@link findUnstorable} found: a string or key Headroom cannot store, or nesting past {@link MAX_DEPTH}. */
export interface Unstorable {
  path: string;
  tooDeep: boolean;
}

/**
 * The JSON-pointer-like path of the first string (or key) in `value` Headroom cannot store, or of
 * the first value nested deeper than {@link MAX_DEPTH}. Iterative, with an explicit stack: a
 * body of 100,000 nested arrays parses fine and used to overflow the call stack right here (500).
 */
export function findUnstorable(value: unknown, path = ''): Unstorable | undefined {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path, depth: 0 }];
  while (stack.length) {
    const { v, path: at, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return { path: at || '/', tooDeep: false };
      continue;
    }
    if (!v || typeof v !== 'object') continue;
    if (depth >= MAX_DEPTH) return { path: at || '/', tooDeep: true };
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
    // Pushed in reverse, so the first offending value in document order is the one reported.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, child] = entries[i]!;
      if (UNSTORABLE.test(k)) return { path: `${at}/${k.replace(UNSTORABLE, '?')}`, tooDeep: false };
      stack.push({ v: child, path: `${at}/${k}`, depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * 400 `invalid_characters` for a body or query holding a control character Headroom cannot
 * store; 400 `nesting_too_deep` for one nested past {@link MAX_DEPTH}.
 */
export const storableStrings: RequestHandler = (req, _res, next) => {
  const found = findUnstorable(req.body, '/body') ?? findUnstorable(req.query, '/query');
  if (!found) return next();
  if (found.tooDeep) return next(errors.tooDeep(found.path, MAX_DEPTH));
  const where = found.path;
  next(
    new ApiError(400, 'invalid_characters', 'Request holds characters that cannot be stored', `${where} holds a NUL or another control character; remove it`, {
      errors: [{ path: where, message: 'must not contain control characters' }],
    }),
  );
};
