/**
 * The app shell: sign-in state, language, navigation and the page for the current path.
 * Engineers start at their volumes, admins at the fleet.
 */
import { useEffect, useState } from 'react';
import { api, setUnauthenticatedHandler, type Tenant } from './api/client';
import { CallerContext } from './caller';
import { I18nProvider, storedLang, storeLang, translate, type Lang } from './i18n/i18n';
import { Audit, Jobs, Queue } from './pages/admin';
import { DirectoryQuotaPage } from './pages/directory-quota-page';
import { Fleet } from './pages/fleet';
import { Rules, Templates, Tenants } from './pages/settings';
import { MyRequests, Notifications } from './pages/lists';
import { MyVolumes } from './pages/my-volumes';
import { RequestForm } from './pages/request-form';
import { SignIn } from './pages/sign-in';
import { VolumePage } from './pages/volume-page';
import { Link, navigate, useRoute } from './router';
import { currentCaller, signOut, type Caller } from './session';

/** The whole app. */
export function App() {
  const [caller, setCaller] = useState<Caller | undefined>(() => {
    const c = currentCaller();
    return c && (c.expiresAt === undefined || c.expiresAt > Date.now()) ? c : undefined;
  });
  const [message, setMessage] = useState<string | undefined>(() => (currentCaller() && !caller ? 'expired' : undefined));
  const [lang, setLang] = useState<Lang>(storedLang() ?? 'en');
  const [langChosen, setLangChosen] = useState(storedLang() !== undefined);

  useEffect(() => {
    setUnauthenticatedHandler(() => {
      signOut();
      setCaller(undefined);
      setMessage('expired');
    });
  }, []);
  // Follow the tenant's language unless the user picked one.
  useEffect(() => {
    const tenant = caller?.tenants[0];
    if (!caller || langChosen || !tenant) return;
    api<Tenant>(caller.token, 'GET', `/v1/tenants/${tenant}`).then(
      (t) => setLang(t.language),
      () => {},
    );
  }, [caller, langChosen]);
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  }, [lang]);

  const pick = (l: Lang) => {
    storeLang(l);
    setLangChosen(true);
    setLang(l);
  };
  return (
    <I18nProvider lang={lang}>
      <a className="skip" href="#main">
        {translate(lang, 'skip')}
      </a>
      <header className="top">
        <span className="brand">{translate(lang, 'appName')}</span>
        {caller && <Nav caller={caller} lang={lang} />}
        <label className="lang">
          {translate(lang, 'language')}{' '}
          <select value={lang} onChange={(e) => pick(e.target.value as Lang)}>
            <option value="en">English</option>
            <option value="zh">中文</option>
          </select>
        </label>
        {caller && (
          <button
            type="button"
            onClick={() => {
              signOut();
              setCaller(undefined);
              setMessage(undefined);
            }}
          >
            {translate(lang, 'signOut')}
          </button>
        )}
      </header>
      <main id="main">
        {caller ? (
          <CallerContext.Provider value={caller}>
            <Page caller={caller} />
          </CallerContext.Provider>
        ) : (
          <SignIn
            message={message ? translate(lang, 'expired') : undefined}
            onSignedIn={(c) => {
              setCaller(c);
              setMessage(undefined);
              navigate('/');
            }}
          />
        )}
      </main>
    </I18nProvider>
  );
}

/** The navigation bar, by role. */
function Nav({ caller, lang }: { caller: Caller; lang: Lang }) {
  const t = (k: Parameters<typeof translate>[1]) => translate(lang, k);
  const admin = caller.role !== 'engineer';
  return (
    <nav aria-label="main">
      {!admin && <Link to="/">{t('navVolumes')}</Link>}
      <Link to="/requests">{t('navRequests')}</Link>
      <Link to="/notifications">{t('navNotifications')}</Link>
      {admin && <Link to="/">{t('navFleet')}</Link>}
      {admin && <Link to="/admin/queue">{t('navQueue')}</Link>}
      {admin && <Link to="/admin/rules">{t('navRules')}</Link>}
      {admin && <Link to="/admin/tenants">{t('navTenants')}</Link>}
      {admin && <Link to="/admin/templates">{t('navTemplates')}</Link>}
      {admin && <Link to="/admin/jobs">{t('navJobs')}</Link>}
      {admin && <Link to="/admin/audit">{t('navAudit')}</Link>}
      <span className="muted">{translate(lang, 'signedInAs', { sub: caller.sub, role: caller.role })}</span>
    </nav>
  );
}

/** The page for the current path. */
function Page({ caller }: { caller: Caller }) {
  const path = useRoute();
  let m: RegExpMatchArray | null;
  if ((m = path.match(/^\/volumes\/(vol_[0-9a-z]{26})\/request$/))) return <RequestForm id={m[1]!} />;
  if ((m = path.match(/^\/volumes\/(vol_[0-9a-z]{26})\/directory-quotas\/(dq_[0-9a-z]{26})$/))) return <DirectoryQuotaPage key={m[2]} volumeId={m[1]!} quotaId={m[2]!} />;
  if ((m = path.match(/^\/volumes\/(vol_[0-9a-z]{26})$/))) return <VolumePage key={m[1]} id={m[1]!} />;
  if (path === '/requests') return <MyRequests />;
  if (path === '/notifications') return <Notifications />;
  if (path === '/admin/queue') return <Queue />;
  if (path === '/admin/rules') return <Rules />;
  if (path === '/admin/tenants') return <Tenants />;
  if (path === '/admin/templates') return <Templates />;
  if (path === '/admin/jobs') return <Jobs />;
  if (path === '/admin/audit') return <Audit />;
  return caller.role === 'engineer' ? <MyVolumes /> : <Fleet />;
}
