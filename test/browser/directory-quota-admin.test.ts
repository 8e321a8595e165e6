/**
 * Directory quotas in the admin's dashboard, in a real browser against a real Headroom on
 * PostgreSQL and the local engine: the request queue and "My requests" say which directory a
 * request is for (a volume request says the whole volume) and link to the quota's page; an admin
 * changes a quota's limits and grace there (a refusal shows the API's detail; only the changed
 * fields are sent) and the JuiceFS record (read back raw) follows; after passes of the counters
 * job the page draws the quota's usage history and says when each limit is reached. axe finds no
 * serious violation, and nothing answers 5xx, breaks the CSP or opens a dialog.
 *
 * The counters passes run with Date faked a few hours back (timers stay real), as the history
 * e2e test does, so their samples make a trend; the browser is idle meanwhile.
 */
import type { Server } from 'node:http';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalEngine } from '../../server/engines/local/local-engine.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { decodeDirQuota, encodeDirQuota } from '../../server/meta/tkv/records.js';
import type { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { runJobOk } from '../support/jobs.js';
import { pgAvailable } from '../support/pg.js';
import type { TestApp } from '../support/test-app.js';
import { chromiumAvailable, expectAxeClean, launchBrowser, signedInTab, watchProblems, type TestBrowser } from './browser.js';
import { serveTestApp, teamVolume } from './setup.js';

const MB = 1_000_000;
const HOUR = 3_600_000;
const run = pgAvailable() && chromiumAvailable();

describe.runIf(run)('directory quotas for admins in the dashboard', () => {
  let t: TestApp;
  let server: Server;
  let base: string;
  let browser: TestBrowser;
  let store: LocalEngine; // a second connection to the volume's store, as a JuiceFS client has
  let tv: TkvVolume;
  let volumeId: string;
  let quotaId: string;
  let aliceIno: bigint;
  const problems: string[] = [];
  const admin = () => `Bearer ${t.token('admin', 'root')}`; // minted when used: Date is faked below
  const api = () => request(t.http);
  const dqUrl = (suffix = '') => `/v1/volumes/${volumeId}/directory-quotas/${quotaId}${suffix}`;
  const raw = async () => decodeDirQuota((await store.get(tv.keys.dirQuota(aliceIno)))!, 'x');

  beforeAll(async () => {
    ({ t, server, base } = await serveTestApp({ META_ENGINE: 'local' }));
    await buildTenant(t.http, admin(), { id: 'acme', displayName: 'Acme', tier: 'gold', language: 'en' });
    const vol = await teamVolume(t, admin());
    ({ volumeId, store, tv } = vol);
    const fx = vol.fx;
    aliceIno = await fx.mkdir(await fx.mkdir(ROOT_INODE, 'team'), 'alice');
    await fx.file(aliceIno, 'a1', 100_000);
    await fx.finish();
    const dq = await api()
      .post(`/v1/volumes/${volumeId}/directory-quotas`)
      .set('authorization', admin())
      .send({ path: '/team/alice', softBytes: 500_000, hardBytes: MB, hardInodes: 100, graceSeconds: 7 * 86_400, ownerSub: 'alice' });
    expect(dq.status, JSON.stringify(dq.body)).toBe(201);
    quotaId = dq.body.id;
    // No rule in the tier: both asks wait for an admin.
    const alice = `Bearer ${t.token('engineer', 'alice', ['acme'])}`;
    const ask = await api()
      .post(dqUrl('/requests'))
      .set('authorization', alice)
      .send({ hardBytes: 3 * MB, reason: 'a bigger model this month' });
    expect(ask.body.state, JSON.stringify(ask.body)).toBe('pending');
    const volAsk = await api()
      .post(`/v1/volumes/${volumeId}/quota-requests`)
      .set('authorization', alice)
      .send({ hardBytes: 1200 * MB, reason: 'room for the whole team' });
    expect(volAsk.body.state, JSON.stringify(volAsk.body)).toBe('pending');
    browser = await launchBrowser();
    watchProblems(browser.context, problems);
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await store?.close();
    await t?.close();
  });

  /** A new tab signed in with a pasted token. */
  const signedIn = (token: string, home: string) => signedInTab(browser.context, base, token, home);
  let boss: Page;

  it('says in the queue and in My requests which directory a request is for, and links to its page', async () => {
    const alice = await signedIn(t.token('engineer', 'alice', ['acme']), 'My volumes');
    await alice.getByRole('navigation').getByRole('link', { name: 'My requests' }).click();
    const dirRow = alice.locator('tr[data-request]').filter({ hasText: 'hard 3.0 MB' });
    await dirRow.getByRole('link', { name: '/team/alice' }).waitFor();
    // Volume names load after the row (a link shows the id until then).
    await expect.poll(() => dirRow.innerText()).toMatch(/acme \/ team\s+directory \/team\/alice\s+hard 3.0 MB/);
    await expect.poll(() => alice.locator('tr[data-request]').filter({ hasText: 'hard 1.2 GB' }).innerText()).toMatch(/acme \/ team\s+the whole volume\s+hard 1.2 GB/);
    await expectAxeClean(alice, 'my requests with a directory request');
    await alice.close();

    boss = await signedIn(t.token('admin', 'root'), 'Fleet');
    await boss.getByRole('navigation').getByRole('link', { name: 'Request queue' }).click();
    const item = boss.locator('li[data-request]').filter({ hasText: 'a bigger model this month' });
    await item.waitFor();
    await item.getByRole('heading', { name: 'acme / team · directory /team/alice' }).waitFor();
    const volItem = boss.locator('li[data-request]').filter({ hasText: 'room for the whole team' });
    await expect.poll(() => volItem.getByRole('heading').innerText()).toMatch(/acme \/ team · the whole volume/);
    expect(await volItem.getByRole('link', { name: '/team/alice' }).count()).toBe(0);
    await expectAxeClean(boss, 'queue with a directory request');
    await item.getByRole('link', { name: '/team/alice' }).click();
    await boss.getByRole('heading', { name: 'Directory quota on /team/alice' }).waitFor();
    expect(boss.url()).toBe(`${base}/ui/volumes/${volumeId}/directory-quotas/${quotaId}`);
  });

  it('lets an admin change the limits and grace, shows a refusal in the API’s words, and the record follows', async () => {
    await boss.getByText('Change the limits, grace or owner').click();
    const form = boss.locator('details.dq-edit form');
    // Filled in with what the quota holds, in the unit that reads best.
    expect(await form.getByLabel('Unit').inputValue()).toBe('MB');
    expect(await form.getByLabel('Soft limit for space').inputValue()).toBe('0.5');
    expect(await form.getByLabel('Hard limit for space').inputValue()).toBe('1');
    expect(await form.getByLabel('Hard limit for inodes').inputValue()).toBe('100');
    expect(await form.getByLabel('Grace period (days)').inputValue()).toBe('7');
    expect(await form.getByLabel('Owner (an engineer’s sign-in name)').inputValue()).toBe('alice');
    expect(await form.getByRole('button', { name: 'Save the changes' }).isDisabled()).toBe(true); // nothing changed yet

    await form.getByLabel('Soft limit for space').fill('3');
    await form.getByRole('button', { name: 'Save the changes' }).click();
    await form
      .getByRole('alert')
      .getByText(/hardBytes \(1000000\) must not be below softBytes \(3000000\)/)
      .waitFor();
    expect((await api().get(dqUrl()).set('authorization', admin())).body.quota.softBytes).toBe(500_000);

    await form.getByLabel('Soft limit for space').fill('1.5');
    await form.getByLabel('Hard limit for space').fill('2');
    await form.getByLabel('Soft limit for inodes').fill('80');
    await form.getByLabel('Hard limit for inodes').fill('200');
    await form.getByLabel('Grace period (days)').fill('3');
    const sent = boss.waitForRequest((r) => r.method() === 'PATCH');
    await form.getByRole('button', { name: 'Save the changes' }).click();
    expect((await sent).postDataJSON()).toEqual({ softBytes: 1.5 * MB, hardBytes: 2 * MB, softInodes: 80, hardInodes: 200, graceSeconds: 3 * 86_400 }); // not the owner
    await boss.getByRole('status').getByText('The quota on /team/alice is changed.').waitFor();
    // The page reloads the quota after saying it changed: wait for the table to follow.
    await expect.poll(() => boss.locator('table.dq-limits').innerText(), { timeout: 5000 }).toMatch(/Space\s+1.5 MB\s+2.0 MB[\s\S]*Inodes\s+80\s+200[\s\S]*3 days/);
    expect((await api().get(dqUrl()).set('authorization', admin())).body).toMatchObject({
      ownerSub: 'alice',
      quota: { softBytes: 1.5 * MB, hardBytes: 2 * MB, softInodes: 80, hardInodes: 200, graceSeconds: 3 * 86_400 },
    });
    await expect.poll(async () => raw()).toMatchObject({ maxSpace: 2n * BigInt(MB), maxInodes: 200n });
    await boss
      .getByTestId('dq-record')
      .getByText(/limits 2.0 MB and 200 inodes · applied/)
      .waitFor();
    await expectAxeClean(boss, 'directory quota edit form');

    const alice = await signedIn(t.token('engineer', 'alice', ['acme']), 'My volumes');
    await alice.goto(`${base}/ui/volumes/${volumeId}/directory-quotas/${quotaId}`);
    await alice.getByRole('heading', { name: 'Directory quota on /team/alice' }).waitFor();
    expect(await alice.getByText('Change the limits, grace or owner').count()).toBe(0);
    await alice.close();
  });

  it('draws the usage history after counters passes, and says when each limit is reached', async () => {
    expect((await api().get(dqUrl('/history')).set('authorization', admin())).body.samples).toEqual([]);
    await boss
      .getByTestId('dq-forecast')
      .getByText(/^No limit is in sight/)
      .waitFor();

    // Four passes an hour apart, the last an hour ago, each seeing the subtree grow by 200 kB.
    const t0 = Date.now() - 4 * HOUR;
    vi.useFakeTimers({ toFake: ['Date'], now: t0 });
    for (let h = 0; h < 4; h++) {
      vi.setSystemTime(t0 + h * HOUR);
      const rec = await raw();
      await store.txn(async (x) => x.put(tv.keys.dirQuota(aliceIno), encodeDirQuota({ ...rec, usedSpace: BigInt(300_000 + h * 200_000), usedInodes: BigInt(1 + h) })));
      expect((await runJobOk(t.http, 'counters', admin())).counts).toMatchObject({ 'directoryQuotas.sampled': 1 });
    }
    vi.useRealTimers();
    const samples = (await api().get(dqUrl('/history')).set('authorization', admin())).body.samples as { bytes: number }[];
    expect(samples.map((s) => s.bytes)).toEqual([300_000, 500_000, 700_000, 900_000]);
    const fc = (await api().get(dqUrl('/forecast')).set('authorization', admin())).body;
    expect(fc.bytes.hard).not.toBeNull();

    await boss.reload();
    const chart = boss.locator('figure.chart');
    await chart.waitFor();
    // The four samples and the usage read now, the limits, and the dashed line to the hard limit.
    expect((await chart.locator('polyline.series').getAttribute('points'))!.trim().split(/\s+/)).toHaveLength(5);
    expect(await chart.locator('line.limit-hard').count()).toBe(1);
    expect(await chart.locator('line.forecast').count()).toBe(1);
    expect(await chart.locator('figcaption').innerText()).toMatch(/ · forecast: \d/);
    const forecast = await boss.getByTestId('dq-forecast').innerText();
    expect(forecast).toMatch(/Space: the soft limit is reached around .+ at the recent rate \(.+ a day\)\./);
    expect(forecast).toMatch(/Space: the hard limit is reached around .+ at the recent rate \(.+ a day\)\./);
    expect(forecast).toMatch(/Inodes: the hard limit is reached around .+ at the recent rate \(\d+ a day\)\./);
    await expectAxeClean(boss, 'directory quota history');

    await boss.getByLabel('Language').selectOption('zh');
    await boss
      .getByTestId('dq-forecast')
      .getByText(/^空间：按近期速度/)
      .first()
      .waitFor();
    await boss.getByLabel('语言').selectOption('en');
  });

  it('loaded nothing that failed, broke the CSP or opened a dialog', () => {
    expect(problems).toEqual([]);
  });
});
