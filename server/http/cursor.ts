/** Opaque pagination cursors: base64url of the last item's sort key. */
import { errors } from '../lib/errors.js';

/** Encodes a sort key as an opaque cursor. */
export function encodeCursor(key: string): string {
  return Buffer.from(`v1:${key}`, 'utf8').toString('base64url');
}

/** Decodes a cursor from {@link encodeCursor}; anything else is a 400 `invalid_cursor`. */
export function decodeCursor(cursor: string): string {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!raw.startsWith('v1:') || raw.length < 4 || !/^[\w-]+$/.test(raw.slice(3))) throw errors.badCursor();
  return raw.slice(3);
}

const MAX_BIGINT = 2n ** 63n - 1n;

/**
 * Decodes a cursor whose key is a PostgreSQL BIGINT (the audit log's identity column). A cursor
 * of another list, or a number past the column's range, is a 400 `invalid_cursor`: it used to
 * reach `BigInt()` or PostgreSQL and come back as a 500.
 */
export function decodeSerialCursor(cursor: string): bigint {
  const key = decodeCursor(cursor);
  if (!/^\d{1,19}$/.test(key) || BigInt(key) > MAX_BIGINT) throw errors.badCursor();
  return BigInt(key);
}
