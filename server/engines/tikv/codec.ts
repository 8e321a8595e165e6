/**
 * Memcomparable encoding of keys (tikv-protocol.md §3.2): PD region keys and region boundaries
 * are encoded; keys sent to TiKV are raw. Encoding keeps byte order, so decoded boundaries can be
 * compared with raw keys directly.
 */

const GROUP = 8;
const MARKER = 0xff;

/** EncodeBytes: 8-byte groups, each followed by 0xFF − padding count. */
export function encodeKey(raw: Uint8Array): Buffer {
  const groups = Math.floor(raw.length / GROUP) + 1;
  const out = Buffer.alloc(groups * (GROUP + 1));
  for (let g = 0; g < groups; g++) {
    const chunk = raw.subarray(g * GROUP, g * GROUP + GROUP);
    out.set(chunk, g * (GROUP + 1));
    out[g * (GROUP + 1) + GROUP] = MARKER - (GROUP - chunk.length);
  }
  return out;
}

/** DecodeBytes; throws on malformed input. Bytes after the final group are ignored. */
export function decodeKey(enc: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  for (let o = 0; ; o += GROUP + 1) {
    if (o + GROUP + 1 > enc.length) throw new Error('malformed memcomparable key: truncated group');
    const marker = enc[o + GROUP]!;
    const pad = MARKER - marker;
    if (pad > GROUP) throw new Error('malformed memcomparable key: bad marker');
    parts.push(Buffer.from(enc.subarray(o, o + GROUP - pad)));
    if (pad > 0) {
      for (let i = o + GROUP - pad; i < o + GROUP; i++) if (enc[i] !== 0) throw new Error('malformed memcomparable key: non-zero padding');
      return Buffer.concat(parts);
    }
  }
}

/** A region boundary from PD or a region error: empty stays empty (±infinity), else decoded. */
export function decodeBoundary(enc: Uint8Array | undefined | null): Buffer {
  return enc && enc.length > 0 ? decodeKey(enc) : Buffer.alloc(0);
}
