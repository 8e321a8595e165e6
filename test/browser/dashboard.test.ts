/**
 * The web dashboard in a real browser against a real Headroom on PostgreSQL: an engineer signs
 * in through a link from `npm run token -- --link`, finds the frozen volume, reads why, asks for
 * more room and a rule grants it at once; another request waits for an admin, who approves it
 * with a lower figure, and the engineer sees what was granted. Around that: another tenant's
 * volume stays out of reach by URL, a refused token sends the user back to sign-in, names that
 * are not UTF-8 or carry HTML render as text, the pages switch to Chinese (and follow the
 * tenant's language), and axe finds no serious violation on any page. No request the pages make
 * answers 5xx, and no Content-Security-Policy violation is reported.
 */
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../server/auth/tokens.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { request } from '../support/api.js';
import { startEngine, type EngineUnderTest } from '../support/engines.js';
import { buildTenant } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import { testSecret, type TestApp } from '../support/test-app.js';
import { chromiumAvailable, expectAxeClean, launchBrowser, signedInTab, watchProblems, type TestBrowser } from './browser.js';
import { serveTestApp } from './setup.js';

const MB = 1_000_000;
/** The browser globals the tests read inside pages (the test tsconfig has no DOM library). */
type InPage = { sessionStorage: { getItem(k: string): string | null }; document: { documentElement: { lang: string } } };
const root = path.resolve(import.meta.dirname, '../..');
const run = pgAvailable() && chromiumAvailable();

describe.runIf(run)('web dashboard in Chromium', () => {
  let t: TestApp;
  let eng: EngineUnderTest;
  let server: Server;
  let base: string;
  let browser: TestBrowser;
  let admin: string;
  const ids: Record<string, string> = {};
  const problems: string[] = [];

  beforeAll(async () => {
    eng = await startEngine('local');
    ({ t, server, base } = await serveTestApp(eng.env));
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme', displayName: 'Acme', tier: 'gold', language: 'en' });
    await buildTenant(t.http, admin, { id: 'other', displayName: 'Other', language: 'zh' });
    const rule = await request(t.http)
      .post('/v1/quota-rules')
      .set('authorization', admin)
      .send({ tier: 'gold', kind: 'temporary_grant', params: { maxFactor: 2, maxDays: 14 }, position: 1 });
    expect(rule.status).toBe(201);
    for (const [tenant, name, used] of [
      ['acme', 'checkpoints', 110],
      ['acme', 'datasets', 50],
      ['acme', 'scratch', 10],
      ['other', 'secret', 10],
    ] as const) {
      const res = await request(t.http)
        .post(`/v1/tenants/${tenant}/volumes`)
        .set('authorization', admin)
        .send({ name, quota: { softBytes: 80 * MB, hardBytes: 100 * MB } });
      expect(res.status).toBe(201);
      ids[name] = res.body.id;
      const h = eng.handle(res.body.id, res.body.metaUrl);
      const runs = await h.fx.mkdir(ROOT_INODE, 'runs');
      await h.fx.file(await h.fx.mkdir(runs, 'step-100'), 'data.bin', (used - 4) * MB);
      await h.fx.file(runs, 'core.4242', 2 * MB); // a core dump: the walk's insights find it
      // Names are bytes: one that is not UTF-8, one that is HTML.
      await h.fx.file(await h.fx.mkdir(ROOT_INODE, Buffer.from([0x66, 0xff, 0x6f])), 'a', MB);
      await h.fx.file(await h.fx.mkdir(ROOT_INODE, '<img src=x onerror=alert(1)>'), 'b', MB);
      await h.fx.finish();
      const v = await t.services.volumes.get({ sub: 'root', role: 'admin', tenants: [] }, res.body.id);
      expect((await t.services.walks.walkNow(v, {}))?.state).toBe('succeeded');
    }
    await t.services.enforcement.countersPass();
    browser = await launchBrowser();
    watchProblems(browser.context, problems);
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await t?.close();
    await eng?.stop();
  });

  /** A new tab with its own session storage. */
  const tab = () => browser.context.newPage();
  const text = (page: Page, selector: string) => page.locator(selector).first().innerText();
  /** axe on the page; with SCREENSHOTS=1 also a screenshot for the README (docs/screenshots/). */
  const axeClean = async (page: Page, name: string) => {
    await expectAxeClean(page, name);
    if (process.env.SCREENSHOTS === '1') await page.screenshot({ path: path.join(root, 'docs/screenshots', `${name.replace(/\W+/g, '-')}.png`), fullPage: true });
  };

  /** The link `npm run token -- --link` prints, for real. */
  async function signInLink(args: string[]): Promise<string> {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/token.ts', ...args, '--link'], {
      cwd: root,
      env: { ...process.env, JWT_SECRET: testSecret, PUBLIC_URL: base, DATA_DIR: t.dataDir },
    });
    return stdout.trim();
  }

  let engineer: Page;

  it('signs an engineer in from a link, takes the token off the URL, and shows the frozen volume', async () => {
    const link = await signInLink(['--role', 'engineer', '--sub', 'eve', '--tenants', 'acme']);
    expect(link).toMatch(new RegExp(`^${base}/ui/#token=ey`));
    engineer = await tab();
    await engineer.goto(link);
    await engineer.getByRole('heading', { name: 'My volumes' }).waitFor();
    expect(engineer.url()).toBe(`${base}/ui/`);
    expect(await engineer.evaluate(() => (globalThis as unknown as InPage).sessionStorage.getItem('headroom.token'))).toMatch(/^ey/);
    const card = engineer.locator('[data-volume="checkpoints"]');
    await card.getByText('Frozen').waitFor();
    expect(await card.innerText()).toMatch(/Space: 110 MB of 100 MB/);
    await engineer.locator('[data-volume="datasets"]').getByText('OK').waitFor();
    expect(await engineer.locator('[data-volume]').count()).toBe(3); // not the other tenant's
    await axeClean(engineer, 'my volumes');
  });

  it('explains why the volume is frozen, with its largest directories shown as text', async () => {
    await engineer.getByRole('link', { name: 'checkpoints' }).click();
    await engineer.locator('.why-sentence').waitFor();
    expect(await text(engineer, '.why-sentence')).toMatch(/Writes are stopped: space reached the hard limit/);
    expect(await text(engineer, '.why')).toMatch(/JuiceFS limits .*: on/);
    const table = engineer.locator('table').first();
    await table.getByText('/runs').waitFor();
    expect(await table.innerText()).toContain('<img src=x onerror=alert(1)>');
    expect(await table.innerText()).toContain('f\\xffo');
    expect(await engineer.locator('main img').count()).toBe(0);
    // Drill down into /runs and back; a directory without subdirectories is not a button.
    expect(await table.getByRole('button', { name: '<img src=x onerror=alert(1)>' }).count()).toBe(0);
    await table.getByRole('button', { name: '/runs' }).click();
    await table.getByText('/runs/step-100').waitFor();
    expect(await table.locator('tbody tr').count()).toBe(1);
    expect(await table.innerText()).toMatch(/\/runs\/step-100\s+106 MB/);
    await engineer.getByRole('button', { name: 'Up one level' }).click();
    await table.getByRole('button', { name: '/runs' }).waitFor();
    // The walk's findings, in the API's words, with what they free.
    const findings = engineer.locator('section.findings');
    await findings.getByRole('heading', { name: 'What is taking the space' }).waitFor();
    expect(await findings.innerText()).toMatch(/core dump/i);
    expect(await findings.innerText()).toContain('/runs');
    await engineer.getByText('juicefs mount', { exact: false }).first().waitFor();
    expect(await engineer.locator('figure.chart svg polyline').count()).toBe(1);
    expect(await engineer.locator('figure.chart svg line.limit-hard').count()).toBe(1);
    await axeClean(engineer, 'volume page');
  });

  it('previews a request, which a rule approves at once, and the volume is unfrozen', async () => {
    await engineer.getByRole('link', { name: 'Ask for more room' }).click();
    await engineer.getByLabel('New hard limit for space').fill('200');
    await engineer.getByLabel('New soft limit for space (optional)').fill('150');
    await engineer.getByLabel('Unit').selectOption('MB');
    await engineer.getByLabel('Temporary, until').check();
    const until = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    await engineer.getByLabel('Until (date)').fill(until);
    await engineer.getByLabel('Why you need it').fill('training run this week');
    expect(await text(engineer, '.preview')).toMatch(/An admin will see: checkpoints, now 110 MB used of 100 MB, asking for hard 200 MB, soft 150 MB until .*, because “training run this week”/);
    // Before sending, the API's preview says a rule grants it at once.
    await engineer
      .getByTestId('preview-verdict')
      .getByText(/^A rule grants this at once: approved by rule/)
      .waitFor();
    await axeClean(engineer, 'request form');
    await engineer.getByRole('button', { name: 'Send the request' }).click();
    await engineer.getByRole('status').waitFor();
    expect(await text(engineer, '[role=status]')).toMatch(/^Approved at once/);
    await engineer.getByRole('link', { name: 'checkpoints' }).click();
    await engineer.locator('.why-sentence').getByText('Writes are allowed').waitFor();
    expect(await text(engineer, '.why')).toMatch(/^OK/);
  });

  it('queues a request no rule covers; the admin approves it from the queue with a lower figure', async () => {
    await engineer.goto(`${base}/ui/volumes/${ids.datasets}/request`);
    await engineer.getByLabel('New hard limit for space').fill('0.15');
    await engineer.getByLabel('Why you need it').fill('the new corpus is bigger');
    await engineer
      .getByTestId('preview-verdict')
      .getByText(/^No rule covers this; an admin decides/)
      .waitFor();
    await engineer.getByRole('button', { name: 'Send the request' }).click();
    await engineer.getByText(/^Sent to an admin/).waitFor();

    const boss = await signedInTab(browser.context, base, t.token('admin', 'root'), 'Fleet');
    await boss.getByRole('link', { name: 'secret' }).waitFor(); // admins see every tenant
    // Sorted by the server: a header click sorts by name, a second one reverses it.
    const firstRow = () => boss.locator('main tbody tr').first().getByRole('link').innerText();
    await boss.getByRole('button', { name: 'Volume' }).click();
    await expect.poll(firstRow).toBe('checkpoints');
    await boss.getByRole('button', { name: /^Volume/ }).click();
    await expect.poll(firstRow).toBe('secret');
    expect(await boss.locator('main').innerText()).toMatch(/1–4 of 4/);
    await axeClean(boss, 'fleet');
    await boss.getByRole('navigation').getByRole('link', { name: 'Request queue' }).click();
    const item = boss.locator('li[data-request]').filter({ hasText: 'the new corpus is bigger' });
    await item.waitFor();
    await axeClean(boss, 'queue');
    await item.getByLabel('New hard limit for space (GB)').fill('0.13');
    await item.getByLabel('Comment (optional)').fill('130 MB covers the forecast');
    await item.getByRole('button', { name: 'Approve with these numbers' }).click();
    await boss.getByRole('status').getByText('Done.').waitFor();
    await item.waitFor({ state: 'detached' });
    const vol = await request(t.http).get(`/v1/volumes/${ids.datasets}`).set('authorization', admin);
    expect(vol.body.quota.hardBytes).toBe(130 * MB);

    await engineer.getByRole('navigation').getByRole('link', { name: 'My requests' }).click();
    const row = engineer.locator('tr[data-request]').filter({ hasText: 'acme / datasets' });
    await row.locator('.rstate-approved').waitFor();
    expect(await row.locator('.granted').innerText()).toBe('hard 130 MB');
    expect(await row.innerText()).toContain('130 MB covers the forecast');
    await axeClean(engineer, 'my requests');
    await engineer.getByRole('navigation').getByRole('link', { name: 'Notifications' }).click();
    await engineer.getByText('quota.request_approved').first().waitFor();
    await axeClean(engineer, 'notifications');
    await boss.close();
  });

  it('shows a conflict when someone else acted on a request first', async () => {
    const r = await request(t.http)
      .post(`/v1/volumes/${ids.scratch}/quota-requests`)
      .set('authorization', `Bearer ${t.token('engineer', 'eve', ['acme'])}`)
      .send({ hardBytes: 300 * MB, reason: 'will be withdrawn' });
    expect(r.body.state).toBe('pending');
    const boss = await tab();
    await boss.goto(`${base}/ui/`);
    await boss.getByLabel('Bearer token').fill(t.token('admin', 'root'));
    await boss.getByRole('button', { name: 'Sign in' }).click();
    await boss.getByRole('navigation').getByRole('link', { name: 'Request queue' }).click();
    const item = boss.locator(`li[data-request="${r.body.id}"]`);
    await item.waitFor();
    const cancelled = await request(t.http)
      .post(`/v1/quota-requests/${r.body.id}/cancel`)
      .set('authorization', `Bearer ${t.token('engineer', 'eve', ['acme'])}`);
    expect(cancelled.status).toBe(200);
    await item.getByRole('button', { name: 'Approve with these numbers' }).click();
    await boss.getByText('Someone else acted on this request first').waitFor();
    expect((await request(t.http).get(`/v1/quota-requests/${r.body.id}`).set('authorization', admin)).body.state).toBe('cancelled');
    await boss.close();
  });

  it('lets an admin add a rule, change a tenant, open a template, and read jobs and the audit log', async () => {
    const boss = await tab();
    await boss.goto(`${base}/ui/`);
    await boss.getByLabel('Bearer token').fill(t.token('admin', 'root'));
    await boss.getByRole('button', { name: 'Sign in' }).click();
    const nav = boss.getByRole('navigation');
    await nav.getByRole('link', { name: 'Rules' }).click();
    await boss.getByRole('heading', { name: 'Auto-approval rules' }).waitFor();
    await boss.getByLabel('Tier', { exact: true }).fill('silver');
    await boss.getByLabel('Parameters (JSON)').fill('{"maxPercent": 10, "cooldownDays": 7}');
    await boss.getByRole('button', { name: 'Add a rule' }).click();
    await boss.getByRole('cell', { name: 'silver' }).waitFor();
    const rules = await request(t.http).get('/v1/quota-rules?tier=silver').set('authorization', admin);
    expect(rules.body.items).toMatchObject([{ kind: 'percent_increase', params: { maxPercent: 10, cooldownDays: 7 }, enabled: true }]);
    await boss.getByLabel('Parameters (JSON)').fill('{nope');
    await boss.getByRole('button', { name: 'Add a rule' }).click();
    await boss.getByText('The parameters are not valid JSON.').waitFor();
    await axeClean(boss, 'rules');

    await nav.getByRole('link', { name: 'Tenants' }).click();
    const card = boss.locator('li.card').filter({ hasText: 'Other' });
    await card.getByLabel('Language').selectOption('en');
    await card.getByRole('button', { name: 'Save' }).click();
    await boss.getByRole('status').getByText('Done.').waitFor();
    expect((await request(t.http).get('/v1/tenants/other').set('authorization', admin)).body.language).toBe('en');
    await request(t.http).patch('/v1/tenants/other').set('authorization', admin).send({ language: 'zh' }); // as the language test expects
    await axeClean(boss, 'tenants');

    await nav.getByRole('link', { name: 'Templates' }).click();
    await boss.getByRole('button', { name: 'quota.frozen/en' }).click();
    await boss.getByLabel('Subject').waitFor();
    await axeClean(boss, 'templates');
    await nav.getByRole('link', { name: 'Jobs' }).click();
    await boss.getByRole('cell', { name: 'counters' }).waitFor();
    await axeClean(boss, 'jobs');
    await nav.getByRole('link', { name: 'Audit log' }).click();
    await boss.getByRole('cell', { name: 'quota_rule.created' }).first().waitFor();
    await axeClean(boss, 'audit');
    await boss.close();
  });

  it("keeps another tenant's volume out of reach by URL", async () => {
    await engineer.goto(`${base}/ui/volumes/${ids.secret}`);
    await engineer.getByText('No such volume, or not one of your tenants’.').waitFor();
    expect(await engineer.locator('main').innerText()).not.toContain('secret');
  });

  it('sends a refused token back to sign-in with a clear message', async () => {
    const forged = signToken({ secret: 'another-secret-another-secret-0123456789', issuer: t.config.auth.issuer }, { sub: 'eve', role: 'engineer', tenants: ['acme'] });
    const page = await tab();
    await page.goto(`${base}/ui/#token=${forged}`);
    await page.getByText('Your session has ended').waitFor();
    await page.getByLabel('Bearer token').waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as InPage).sessionStorage.getItem('headroom.token'))).toBeNull();
    await axeClean(page, 'sign-in');
    await page.close();
  });

  it("follows the tenant's language, and switches between English and Chinese", async () => {
    const page = await tab();
    await page.goto(await signInLink(['--role', 'engineer', '--sub', 'wang', '--tenants', 'other']));
    await page.getByRole('heading', { name: '我的卷' }).waitFor();
    await page.locator('[data-volume="secret"]').getByText('正常').waitFor();
    await axeClean(page, 'my volumes in Chinese');
    await page.getByLabel('语言').selectOption('en');
    await page.getByRole('heading', { name: 'My volumes' }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as InPage).document.documentElement.lang)).toBe('en');
    await page.close();
  });

  it('loaded nothing that failed, broke the CSP or opened a dialog', () => {
    expect(problems).toEqual([]);
  });
});
