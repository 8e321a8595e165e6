/** Text helpers of the CLI: sizes in and out, and plain aligned tables. */

const units: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, pb: 1e15, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, pib: 2 ** 50 };

/** "2TB", "1.5 TiB", "500gb", "123" (bytes) → a number of bytes; throws on anything else. */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  const unit = m?.[2]?.toLowerCase() || 'b';
  if (!m || !(unit in units)) throw new Error(`"${s}" is not a size (examples: 500GB, 2TB, 1.5TiB, 1024)`);
  return Math.round(Number(m[1]) * units[unit]!);
}

/** A count like "1.2 M" for inodes. */
export function parseCount(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)\s*$/i.exec(s);
  if (!m) throw new Error(`"${s}" is not a count (examples: 500000, 2M)`);
  return Math.round(Number(m[1]) * { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g']);
}

/** Bytes for people: 920 GB, 1.5 TB. */
export function size(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  const u = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2))} ${u[i]}`;
}

/** Columns padded to their widest cell, a header, and one line per row. */
export function table(header: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
