/**
 * What a walk learns from file names: the type (extension, with ML tools' names kept apart) and
 * the numbered series a name belongs to; and the TKV walk's join of a file's name with its attr.
 * Everything here runs once per file of every walk, so it avoids regular expressions and
 * per-file objects that would outlive a scavenge.
 */
const TAR = new Set(['gz', 'bz2', 'xz', 'zst']);

/**
 * The type of a file by its name: its extension in lower case, with ML tools' names kept apart.
 * Works on the latin1 form of the name bytes as on text (extensions and digits are ASCII), and
 * avoids regular expressions: it runs once per file of every walk.
 */
export function fileTypeOf(name: string): string {
  if (name.startsWith('events.out.tfevents.')) return 'tfevents';
  if (name.startsWith('core') && (name.length === 4 || (name.charCodeAt(4) === 46 && name.length > 5 && allDigits(name, 5)))) return 'core';
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1 || name.length - dot - 1 > 12) return '';
  const ext = name.slice(dot + 1).toLowerCase();
  for (let i = 0; i < ext.length; i++) {
    const c = ext.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95)) return '';
  }
  if (TAR.has(ext) && dot >= 5 && name.slice(dot - 4, dot).toLowerCase() === '.tar') return `tar.${ext}`;
  return ext;
}

function allDigits(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) if (s.charCodeAt(i) < 48 || s.charCodeAt(i) > 57) return false;
  return true;
}

/** The series pattern of a name (digits as `#`) and its numbers, or undefined without digits. */
export function seriesOf(name: string): { pattern: string; key: number[] } | undefined {
  let key: number[] | undefined;
  let pattern = '';
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    let n = 0;
    const from = i;
    for (; i < name.length && (c = name.charCodeAt(i)) >= 48 && c <= 57; i++) n = n * 10 + (c - 48);
    (key ??= []).push(n);
    pattern += `${name.slice(start, from)}#`;
    start = i--;
  }
  return key && { pattern: pattern + name.slice(start), key };
}

/**
 * The TKV walk's join of a file's name (a dentry, in its parent's partition) with its attr (in
 * its own): whichever comes first waits here. Up to half the files may wait at once, so a
 * waiting attr is two numbers in typed arrays (slots reused), not an object, and a waiting name
 * is one latin1 string: no per-file object survives to be promoted and collected later.
 */
export class NameAttrJoin {
  private readonly names = new Map<number, string>();
  private readonly attrs = new Map<number, number>();
  private bytes = new Float64Array(1024);
  private mtimes = new Float64Array(1024);
  private readonly free: number[] = [];
  private used = 0;

  /** A file's attr: its waiting name (now joined and forgotten), or undefined after storing the figures. */
  attr(ino: number, bytes: number, mtime: number): string | undefined {
    const name = this.names.get(ino);
    if (name !== undefined) {
      this.names.delete(ino);
      return name;
    }
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.used++;
      if (slot >= this.bytes.length) {
        const grow = (a: Float64Array) => {
          const b = new Float64Array(a.length * 2);
          b.set(a);
          return b;
        };
        this.bytes = grow(this.bytes);
        this.mtimes = grow(this.mtimes);
      }
    }
    this.bytes[slot] = bytes;
    this.mtimes[slot] = mtime;
    this.attrs.set(ino, slot);
    return undefined;
  }

  /** A file's name: its waiting attr's figures (now joined), or undefined after storing the name (the first one wins). */
  name(ino: number, name: string): { bytes: number; mtime: number } | undefined {
    const slot = this.attrs.get(ino);
    if (slot === undefined) {
      if (!this.names.has(ino)) this.names.set(ino, name);
      return undefined;
    }
    this.attrs.delete(ino);
    this.free.push(slot);
    return { bytes: this.bytes[slot]!, mtime: this.mtimes[slot]! };
  }

  /** Removes and returns a waiting name (a hard-linked inode takes it). */
  takeName(ino: number): string | undefined {
    const n = this.names.get(ino);
    this.names.delete(ino);
    return n;
  }
}
