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
