/**
 * Directory paths as JuiceFS resolves them (`base.go: resolve`): raw bytes split on `/`, empty
 * components ignored, so `/a//b/` is `a`, `b`. Names are bytes, never strings: any JuiceFS name
 * (GBK in its own sample) must survive. `.` and `..` are refused rather than interpreted, so a
 * quota's path always names one directory the same way.
 */

/** The components of a path, or undefined when it holds `.`, `..` or a name over 255 bytes. */
export function splitDirPath(path: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === 0x2f) {
      if (i > start) out.push(path.subarray(start, i));
      start = i + 1;
    }
  }
  const bad = out.some((c) => c.length > 255 || (c.length <= 2 && /^\.\.?$/.test(c.toString('latin1'))));
  return bad ? undefined : out;
}

/** The canonical path of components: `/` for the root, `/a/b` otherwise. */
export function joinDirPath(components: readonly Buffer[]): Buffer {
  if (!components.length) return Buffer.from('/');
  return Buffer.concat(components.flatMap((c) => [Buffer.from('/'), c]));
}

/** A path component never holds `/` or NUL; anything else is a valid JuiceFS name. */
export function isValidName(name: Buffer): boolean {
  return name.length > 0 && name.length <= 255 && !name.includes(0x2f) && !name.includes(0);
}

/** Bound on path depth when walking parents up to the root (a loop means corrupt metadata). */
export const MAX_PATH_DEPTH = 4096;
