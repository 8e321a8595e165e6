/** Shared output helpers of the CLI commands: JSON or text, limits in and out. */
import { UsageError, type Json } from './client.js';
import type { CommandContext } from './command.js';
import { parseCount, parseSize, size } from './format.js';

/** Prints `body` as JSON under `--json`, or runs the text printer. */
export function emit(ctx: CommandContext, body: unknown, text: () => void): void {
  if (ctx.json) ctx.out(JSON.stringify(body, null, 2));
  else text();
}

/** The limit flags every command that sets limits shares. */
export const limitOptions = {
  hard: { type: 'string' },
  soft: { type: 'string' },
  'hard-inodes': { type: 'string' },
  'soft-inodes': { type: 'string' },
} as const;

export const limitHelp = ['--hard/--soft SIZE      byte limits: 500GB, 2TB, 1.5TiB, 1024', '--hard-inodes/--soft-inodes N   inode limits: 500000, 2M'];

/** Reads the limit flags into an API limit object (only those given). */
export function limitsFrom(v: CommandContext['values']): Json {
  const out: Json = {};
  try {
    if (v.hard) out.hardBytes = parseSize(String(v.hard));
    if (v.soft) out.softBytes = parseSize(String(v.soft));
    if (v['hard-inodes']) out.hardInodes = parseCount(String(v['hard-inodes']));
    if (v['soft-inodes']) out.softInodes = parseCount(String(v['soft-inodes']));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return out;
}

/** `hardBytes=2 TB softInodes=1000000` for a limit object. */
export const limitText = (l: Json | null | undefined): string =>
  l
    ? Object.entries(l)
        .map(([k, v]) => `${k}=${k.endsWith('Bytes') ? size(v as number | null) : (v ?? 'unlimited')}`)
        .join(' ')
    : '-';

/** A value as one table cell. */
export const cell = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));
