/** Numbers in words people use: "920 GB", "1.2 M files", "3 days", in English and Chinese. */
import type { Language } from './notice.js';

const byteUnits = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** Decimal units with at most three significant digits: 920 GB, 1 TB, 1.5 TB. */
export function humanBytes(n: bigint | number): string {
  let v = Number(n);
  let i = 0;
  while (v >= 1000 && i < byteUnits.length - 1) {
    v /= 1000;
    i++;
  }
  return `${trim(v)} ${byteUnits[i]}`;
}

/** Counts: 950, 12 k, 1.2 M. */
export function humanCount(n: bigint | number): string {
  const v = Number(n);
  if (v < 1000) return String(v);
  if (v < 1_000_000) return `${trim(v / 1000)} k`;
  if (v < 1_000_000_000) return `${trim(v / 1_000_000)} M`;
  return `${trim(v / 1_000_000_000)} G`;
}

function trim(v: number): string {
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return String(Number(v.toFixed(digits)));
}

/** A duration rounded to the unit that reads best: "3 days", "5 hours", "40 minutes". */
export function humanDuration(seconds: number, lang: Language): string {
  const s = Math.max(0, seconds);
  const [n, en, zh] = s >= 2 * 86_400 ? [Math.round(s / 86_400), 'days', '天'] : s >= 7200 ? [Math.round(s / 3600), 'hours', '小时'] : [Math.max(1, Math.round(s / 60)), 'minutes', '分钟'];
  if (lang === 'zh') return `${n} ${zh}`;
  return `${n} ${n === 1 ? en.replace(/s$/, '') : en}`;
}

/** A UTC timestamp without seconds: "2026-11-30 14:00 UTC". */
export function humanTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
