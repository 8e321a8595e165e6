/** Number formatting for bytes, counts and paths (paths are bytes in JuiceFS). */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Bytes in decimal units (as the limits are usually set: 1 GB = 10^9 bytes). */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[i]}`;
}

/** A count with thousands separators. */
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : n.toLocaleString('en-US');
}

/** Multipliers of the units the request form offers. */
export const UNIT_BYTES = { MB: 1e6, GB: 1e9, TB: 1e12 } as const;

/** The raw bytes of a base64 string. */
function base64Bytes(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/**
 * A path for display: the exact bytes when they are UTF-8; otherwise the valid runs as text and
 * every invalid byte as `\xNN`, so two different names never look the same. The result is only
 * ever rendered as a text node (React escapes it), so HTML in a name stays text.
 */
export function displayPath(b64: string): { text: string; valid: boolean } {
  const bytes = base64Bytes(b64);
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), valid: true };
  } catch {
    let out = '';
    let i = 0;
    while (i < bytes.length) {
      const len = utf8SequenceLength(bytes, i);
      if (len > 0) {
        out += new TextDecoder().decode(bytes.subarray(i, i + len));
        i += len;
      } else {
        out += `\\x${bytes[i]!.toString(16).padStart(2, '0')}`;
        i++;
      }
    }
    return { text: out, valid: false };
  }
}

/** Length of a well-formed UTF-8 sequence at `i`, or 0 when the byte there starts none. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (len <= 1) return len;
  const seq = b.subarray(i, i + len);
  if (seq.length < len) return 0;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(seq);
    return len;
  } catch {
    return 0;
  }
}

/** The byte string of a base64 path, for exact prefix comparisons (drill-down). */
export function pathKey(b64: string): string {
  return atob(b64);
}
