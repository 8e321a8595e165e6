/**
 * Where the real tools built by `npm run tools` (scripts/tools.sh) live, and whether a suite
 * that needs one runs: present, it runs; missing, it skips with one line locally and fails the
 * run under CI (where .ci/run builds them first).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { requireServer } from '../servers.js';

const root = path.resolve(import.meta.dirname, '../../../.tools');

/** The pinned tools; keep in step with the TOOLS table of scripts/tools.sh. */
export const TOOLS = {
  'juicefs-1.3': { dir: 'juicefs-1.3-v1.3.1', bin: 'juicefs', version: '1.3.1' },
  'juicefs-1.4': { dir: 'juicefs-1.4-v1.4.1', bin: 'juicefs', version: '1.4.1' },
  weed: { dir: 'weed-v0.0.0-20261109003541-7506e5f91cd6', bin: 'weed', version: '4.x (7506e5f91cd6)' },
} as const;

/** A tool's name in {@link TOOLS}. */
export type ToolName = keyof typeof TOOLS;

/** Absolute path of a built tool, or undefined when `npm run tools` has not built it. */
export function toolPath(name: ToolName): string | undefined {
  const t = TOOLS[name];
  const p = path.join(root, t.dir, t.bin);
  return existsSync(p) && existsSync(path.join(root, t.dir, '.built')) ? p : undefined;
}

/** Whether the suite can run with these tools (throws under CI when one is missing). */
export function toolsAvailable(...names: ToolName[]): boolean {
  const missing = names.filter((n) => !toolPath(n));
  return requireServer(`${missing.join(', ')} (run \`npm run tools\`)`, missing.length === 0);
}

/** The pd-server binary, when a PD_VERSION the proxy serves was built (see scripts/tools.sh). */
export function pdServerPath(): string | undefined {
  if (!existsSync(root)) return undefined;
  const dir = readdirSync(root).find((d) => d.startsWith('pd-v'));
  return dir && existsSync(path.join(root, dir, 'pd-server')) ? path.join(root, dir, 'pd-server') : undefined;
}
