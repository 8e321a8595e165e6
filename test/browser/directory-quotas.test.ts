/**
 * Directory quotas in the dashboard, in a real browser against a real Headroom on PostgreSQL and
 * the local engine: an admin puts a quota on a directory through the volume page (a missing
 * directory is refused with the API's detail), discovers one set outside Headroom and takes it
 * over; the engineer who owns the first sees only that one, reads its page, previews asks (one a
 * rule would grant, one it would not) and files the second; the admin finds it in the queue and
 * approves it, and the JuiceFS record (read back raw) follows. On the discovered quota the admin
 * freezes, unfreezes, checks and repairs its drifted record, and deletes it, each destructive
 * step confirmed in the page. axe finds no serious violation, and nothing answers 5xx, breaks
 * the CSP or opens a dialog.
 */
import type { Server } from 'node:http';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalEngine } from '../../server/engines/local/local-engine.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { decodeDirQuota, encodeDirQuota } from '../../server/meta/tkv/records.js';
import type { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import type { TestApp } from '../support/test-app.js';
import { chromiumAvailable, expectAxeClean, launchBrowser, signedInTab, watchProblems, type TestBrowser } from './browser.js';
import { serveTestApp, teamVolume } from './setup.js';

const MB = 1_000_000;
const run = pgAvailable() && chromiumAvailable();

describe.runIf(run)('directory quotas in the dashboard', () => {
  let t: TestApp;
  let server: Server;
  let base: string;
  let browser: TestBrowser;
  let admin: string;
  let store: LocalEngine; // a second connection to the volume's store, as a JuiceFS client has
  let tv: TkvVolume;
  let volumeId: string;
  const ino: Record<string, bigint> = {};
  const q: Record<string, string> = {};
  const problems: string[] = [];

  beforeAll(async () => {
    ({ t, server, base } = await serveTestApp({ META_ENGINE: 'local' }));
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme', displayName: 'Acme', tier: 'gold', language: 'en' });
    const rule = await request(t.http)
      .post('/v1/quota-rules')
      .set('authorization', admin)
      .send({ tier: 'gold', kind: 'percent_increase', params: { maxPercent: 20, cooldownDays: 30 }, position: 1 });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const vol = await teamVolume(t, admin);
    ({ volumeId, store, tv } = vol);
    const fx = vol.fx;
    const team = await fx.mkdir(ROOT_INODE, 'team');
    for (const who of ['alice', 'dave']) ino[who] = await fx.mkdir(team, who);
    await fx.file(ino.alice!, 'a1', 100_000); // 102,400 bytes counted (4 KiB blocks)
    await fx.file(ino.dave!, 'd1', 50_000); // 53,248 counted; dave's record below says 0
    await fx.finish();
    // dave's quota was set with `juicefs quota set`, not by Headroom.
    await store.txn(async (x) => x.put(tv.keys.dirQuota(ino.dave!), encodeDirQuota({ maxSpace: 5n * BigInt(MB), maxInodes: 50n, usedSpace: 0n, usedInodes: 0n })));
    browser = await launchBrowser();
    watchProblems(browser.context, problems);
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await store?.close();
    await t?.close();
  });

  const api = () => request(t.http);
  const dqBase = () => `/v1/volumes/${volumeId}/directory-quotas`;
  const raw = async (who: string) => decodeDirQuota((await store.get(tv.keys.dirQuota(ino[who]!)))!, 'x');
  /** A new tab signed in with a pasted token. */
  const signedIn = (token: string, home: string) => signedInTab(browser.context, base, token, home);
  let boss: Page;
  let alice: Page;

  it('lets an admin create a directory quota from the volume page, and shows a refusal in the API’s words', async () => {
    boss = await signedIn(t.token('admin', 'root'), 'Fleet');
    await boss.getByRole('link', { name: 'team', exact: true }).click();
    const section = boss.locator('section.dir-quotas');
    await section.getByRole('heading', { name: 'Directory quotas' }).waitFor();
    await section.getByText('No directory of this volume has a quota.').waitFor();
    await section.getByText('Put a quota on a directory').click();
    await section.getByLabel('Directory (absolute path in the volume)').fill('/team/nobody');
    await section.getByRole('button', { name: 'Create the quota' }).click();
    await section
      .getByRole('alert')
      .getByText(/"\/team\/nobody" is not an existing directory of the volume/)
      .waitFor();

    await section.getByLabel('Directory (absolute path in the volume)').fill('/team/alice');
    await section.getByLabel('Unit').selectOption('MB');
    await section.getByLabel('Soft limit for space').fill('0.5');
    await section.getByLabel('Hard limit for space').fill('1');
    await section.getByLabel('Hard limit for inodes').fill('100');
    await section.getByLabel('Grace period (days)').fill('7');
    await section.getByLabel('Owner (an engineer’s sign-in name)').fill('alice');
    await section.getByRole('button', { name: 'Create the quota' }).click();
    await section.getByRole('status').getByText('Quota created on /team/alice.').waitFor();
    const row = section.locator('tr[data-dir-quota="/team/alice"]');
    await row.waitFor();
    expect(await row.innerText()).toMatch(/alice[\s\S]*Space: 102 kB of 1.0 MB \(soft 500 kB\)[\s\S]*Inodes: 1 of 100[\s\S]*OK/);
    const list = await api().get(dqBase()).set('authorization', admin);
    expect(list.body.items).toMatchObject([
      { path: '/team/alice', ownerSub: 'alice', managed: true, native: true, quota: { softBytes: 500_000, hardBytes: MB, hardInodes: 100, graceSeconds: 7 * 86_400 } },
    ]);
    q.alice = list.body.items[0].id;
    expect(await raw('alice')).toMatchObject({ maxSpace: BigInt(MB), maxInodes: 100n, usedSpace: 102_400n });
    await expectAxeClean(boss, 'volume page with directory quotas');
  });

  it('discovers a quota set outside Headroom, marks it, and takes it over on confirmation', async () => {
    const section = boss.locator('section.dir-quotas');
    await section.getByRole('button', { name: 'Find quotas set outside Headroom' }).click();
    await section.getByRole('status').getByText('Found 1 quota(s) set outside Headroom: /team/dave.').waitFor();
    const row = section.locator('tr[data-dir-quota="/team/dave"]');
    expect(await row.locator('.flag').innerText()).toBe('set outside Headroom');
    q.dave = (await api().get(dqBase()).set('authorization', admin)).body.items.find((i: { path: string }) => i.path === '/team/dave').id;
    await row.getByRole('button', { name: 'Take over' }).click();
    expect((await api().get(`${dqBase()}/${q.dave}`).set('authorization', admin)).body.managed).toBe(false); // not before the yes
    await row.getByRole('button', { name: 'Yes, Take over' }).click();
    await section.getByRole('status').getByText('Headroom now manages the quota on /team/dave.').waitFor();
    await expect.poll(() => row.locator('.flag').count()).toBe(0);
    expect((await api().get(`${dqBase()}/${q.dave}`).set('authorization', admin)).body).toMatchObject({ managed: true, quota: { hardBytes: 5 * MB, hardInodes: 50 } });
  });

  it('shows the owner only their quota, its page, and previews asks before filing one for an admin', async () => {
    alice = await signedIn(t.token('engineer', 'alice', ['acme']), 'My volumes');
    await alice.getByRole('link', { name: 'team', exact: true }).click();
    const section = alice.locator('section.dir-quotas');
    await section.locator('tr[data-dir-quota="/team/alice"]').waitFor();
    expect(await section.locator('tbody tr').count()).toBe(1); // not dave's
    expect(await section.getByRole('button', { name: 'Find quotas set outside Headroom' }).count()).toBe(0);
    await section.getByRole('link', { name: '/team/alice' }).click();
    await alice.getByRole('heading', { name: 'Directory quota on /team/alice' }).waitFor();
    expect(alice.url()).toBe(`${base}/ui/volumes/${volumeId}/directory-quotas/${q.alice}`);
    expect(await alice.locator('table.dq-limits').innerText()).toMatch(/Space\s+500 kB\s+1.0 MB[\s\S]*Inodes\s+unlimited\s+100[\s\S]*7 days/);
    expect(await alice.locator('.why-sentence').innerText()).toBe('Writes are allowed: usage is within the limits.');
    expect(await alice.getByTestId('dq-record').innerText()).toMatch(/JuiceFS record: present, limits 1.0 MB and 100 inodes · applied/);
    expect(await alice.getByRole('heading', { name: 'Admin actions' }).count()).toBe(0);

    await alice.getByLabel('Unit').selectOption('MB');
    await alice.getByLabel('New hard limit for space').fill('1.1');
    await alice.getByLabel('Why you need it').fill('more checkpoints');
    await alice
      .getByTestId('preview-verdict')
      .getByText(/^A rule grants this at once: approved by rule/)
      .waitFor();
    await alice.getByLabel('New hard limit for space').fill('3');
    await alice.getByLabel('Why you need it').fill('a bigger model this month');
    await alice
      .getByTestId('preview-verdict')
      .getByText(/^No rule covers this; an admin decides/)
      .waitFor();
    expect(await alice.locator('.preview').innerText()).toMatch(/An admin will see: \/team\/alice, now 102 kB used of 1.0 MB, asking for hard 3.0 MB, because “a bigger model this month”/);
    expect(Number((await t.database.db('quota_requests').count({ n: '*' }))[0]!.n)).toBe(0); // previews write nothing
    await expectAxeClean(alice, 'directory quota page');
    await alice.getByRole('button', { name: 'Send the request' }).click();
    await alice
      .getByRole('status')
      .getByText(/^Sent to an admin/)
      .waitFor();
    const filed = await api().get(`/v1/quota-requests?state=pending&volumeId=${volumeId}`).set('authorization', admin);
    expect(filed.body.items).toMatchObject([{ directoryQuotaId: q.alice, path: '/team/alice', requestedBy: 'alice', requested: { hardBytes: 3 * MB } }]);
    await alice.reload();
    await alice.getByText(/^A request is pending since/).waitFor();
    expect(await alice.getByRole('button', { name: 'Send the request' }).count()).toBe(0);
  });

  it('puts the ask in the admin’s queue, and an approval changes the quota and its JuiceFS record', async () => {
    // A background tab gets few animation frames, and Playwright waits for two to call a button stable.
    await boss.bringToFront();
    await boss.getByRole('navigation').getByRole('link', { name: 'Request queue' }).click();
    const item = boss.locator('li[data-request]').filter({ hasText: 'a bigger model this month' });
    await item.waitFor();
    // The heading names the volume once the queue's volume list has loaded: wait for it, do not read once.
    await expect.poll(() => item.innerText(), { timeout: 5000 }).toMatch(/acme \/ team[\s\S]*alice[\s\S]*hard 3.0 MB/);
    await item.getByLabel('New hard limit for space (GB)').fill('0.002');
    await item.getByRole('button', { name: 'Approve with these numbers' }).click();
    await boss.getByRole('status').getByText('Done.').waitFor();
    expect((await api().get(`${dqBase()}/${q.alice}`).set('authorization', admin)).body.quota.hardBytes).toBe(2 * MB);
    await expect.poll(async () => (await raw('alice')).maxSpace).toBe(2n * BigInt(MB));
    await alice.bringToFront();
    await alice.reload();
    await alice.locator('table.dq-limits').getByText('2.0 MB').waitFor();
    await alice.getByLabel('New hard limit for space').waitFor(); // nothing pending: the form is back
  });

  it('freezes, unfreezes, checks and deletes a quota, asking before each destructive step', async () => {
    await boss.bringToFront();
    await boss.goto(`${base}/ui/volumes/${volumeId}/directory-quotas/${q.dave}`);
    await boss.getByRole('heading', { name: 'Admin actions' }).waitFor();
    await boss.getByLabel('Reason for the freeze').fill('runaway job');
    await boss.getByRole('button', { name: 'Freeze', exact: true }).click();
    await boss.getByRole('group', { name: 'Stop all writes into /team/dave?' }).getByRole('button', { name: 'Yes, Freeze' }).click();
    await boss.getByRole('status').getByText('Frozen.').waitFor();
    await boss.locator('.why-sentence').getByText('An admin froze this directory: “runaway job” (until an admin lifts it).').waitFor();
    expect(await boss.locator('h1 .flag').allInnerTexts()).toContain('frozen by an admin');
    const frozen = (await api().get(`${dqBase()}/${q.dave}`).set('authorization', admin)).body;
    expect(frozen.enforcement).toMatchObject({ state: 'frozen', manualFreeze: { reason: 'runaway job', until: null } });
    await expect.poll(async () => (await raw('dave')).maxSpace).toBeLessThan(5n * BigInt(MB)); // clamped to the usage
    await expectAxeClean(boss, 'frozen directory quota');

    await boss.getByLabel('Reason for lifting the freeze').fill('job killed');
    await boss.getByRole('button', { name: 'Lift the freeze' }).click();
    await boss.getByRole('status').getByText('The freeze is lifted.').waitFor();
    await boss.locator('.why-sentence').getByText('Writes are allowed').waitFor();
    await expect.poll(async () => (await raw('dave')).maxSpace).toBe(5n * BigInt(MB));

    // The record says 0 bytes used; the subtree holds 53,248. A check says so; a repair (confirmed) fixes it.
    await boss.getByRole('button', { name: 'Check the record' }).click();
    await boss.getByTestId('dq-check').getByText('The record is off by 53.2 kB and 1 inodes.').waitFor();
    expect((await raw('dave')).usedSpace).toBe(0n);
    await boss.getByLabel('and repair it').check();
    await boss.getByRole('button', { name: 'Check and repair', exact: true }).click();
    await boss.getByRole('button', { name: 'Yes, Check and repair' }).click();
    await boss
      .getByTestId('dq-check')
      .getByText(/It was repaired\./)
      .waitFor();
    expect(await raw('dave')).toMatchObject({ usedSpace: 53_248n, usedInodes: 1n });
    await boss.getByLabel('and repair it').uncheck();
    await boss.getByRole('button', { name: 'Check the record' }).click();
    await boss.getByTestId('dq-check').getByText('The record matches the real usage.').waitFor();
    await boss.getByRole('button', { name: 'Delete the quota' }).click();
    await boss.getByRole('button', { name: 'No', exact: true }).click(); // changed my mind: nothing happens
    expect((await api().get(`${dqBase()}/${q.dave}`).set('authorization', admin)).status).toBe(200);
    await boss.getByRole('button', { name: 'Delete the quota' }).click();
    await boss.getByRole('button', { name: 'Yes, Delete the quota' }).click();
    await boss.getByRole('status').getByText('The quota on /team/dave is deleted.').waitFor();
    expect((await api().get(`${dqBase()}/${q.dave}`).set('authorization', admin)).status).toBe(404);
    expect(await store.get(tv.keys.dirQuota(ino.dave!))).toBeUndefined();
    await boss.getByRole('link', { name: 'Back to the volume' }).click();
    await boss.locator('section.dir-quotas tr[data-dir-quota="/team/alice"]').waitFor();
    expect(await boss.locator('section.dir-quotas tbody tr').count()).toBe(1);
  });

  it('switches the pages to Chinese', async () => {
    await alice.getByLabel('Language').selectOption('zh');
    await alice.getByRole('heading', { name: '/team/alice 的目录配额' }).waitFor();
    expect(await alice.locator('.why-sentence').innerText()).toBe('可以写入：用量在限制之内。');
    await alice.getByLabel('语言').selectOption('en');
  });

  it('loaded nothing that failed, broke the CSP or opened a dialog', () => {
    expect(problems).toEqual([]);
  });
});
