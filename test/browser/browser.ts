/**
 * Debian's Chromium driven by playwright-core (no browser download: the package only talks the
 * DevTools protocol), and axe-core run inside the page. A missing /usr/bin/chromium skips the
 * browser tests locally and fails them under CI, as a missing server does (servers.ts).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { requireServer } from '../support/servers.js';

/** Where Debian's chromium package puts its launcher. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether the browser tests can run (throws under CI when Chromium is missing). */
export function chromiumAvailable(): boolean {
  return requireServer(`Chromium (${CHROMIUM}; apt-get install chromium)`, existsSync(CHROMIUM));
}

/** A headless Chromium with a fresh profile, removed on close. */
export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Chromium headless with a new user-data-dir and nothing that phones home. */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'headroom-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Collects into `problems` what no step of a test expects of its pages: a dialog, an answer of
 * 5xx, a Content-Security-Policy refusal on the console. A test's last step expects none.
 */
export function watchProblems(context: BrowserContext, problems: string[]): void {
  context.on('dialog', (d) => problems.push(`dialog: ${d.message()}`));
  context.on('response', (r) => r.status() >= 500 && problems.push(`${r.status()} ${r.url()}`));
  context.on('console', (m) => m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text()) && problems.push(m.text()));
}

/** A new tab of the dashboard at `base`, signed in with a pasted token, once its `home` heading shows. */
export async function signedInTab(context: BrowserContext, base: string, token: string, home: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}/ui/`);
  await page.getByLabel('Bearer token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: home }).waitFor();
  return page;
}

const axeSource = (createRequire(import.meta.url)('axe-core') as { source: string }).source;

/** One accessibility problem axe found. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core on the page as it is now and returns the serious and critical violations. The
 * script goes in through the DevTools protocol, which the page's CSP does not govern, so the
 * pages under test keep their real policy.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    // The test tsconfig has no DOM library: name only what is used of the page's globals.
    const g = globalThis as unknown as {
      document: unknown;
      axe: { run(ctx: unknown, opts: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] }> };
    };
    const r = await g.axe.run(g.document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Expects axe to find no serious or critical violation on the page as it is now (`name` says which page). */
export async function expectAxeClean(page: Page, name: string): Promise<void> {
  expect(await seriousAxeViolations(page), name).toEqual([]);
}
