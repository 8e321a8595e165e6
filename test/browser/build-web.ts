/**
 * Global setup of the browser tests: build the dashboard into web/dist when it is missing or
 * older than any file under web/ (a stale bundle would test yesterday's pages). CI builds it in
 * `npm run build` first, so there this finds it fresh and does nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const web = path.join(root, 'web');

/** Newest modification time of the sources the bundle is built from. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds web/dist if needed. */
export default function setup(): void {
  const index = path.join(web, 'dist', 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestSource(web)) return;
  execFileSync(path.join(root, 'node_modules', '.bin', 'vite'), ['build', '--config', path.join(web, 'vite.config.ts'), '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
    // vitest runs with NODE_ENV=test, which would make Vite bundle React's development build.
    env: { ...process.env, NODE_ENV: 'production' },
  });
}
