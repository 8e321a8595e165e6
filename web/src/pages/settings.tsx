/**
 * Admin settings: auto-approval rules, tenants (contacts, language, tier) and notice templates.
 * Each form sends what the API takes and shows its answer; a 400 shows the API's own words.
 */
import { useState, type FormEvent } from 'react';
import { api, ApiError, type Page, type Tenant } from '../api/client';
import type { components } from '../api/schema';
import { useCaller } from '../caller';
import { Status } from '../components/common';
import { useI18n } from '../i18n/i18n';
import { useGet } from '../use-api';

type QuotaRule = components['schemas']['QuotaRule'];
type Template = components['schemas']['NotificationTemplate'];

/** Example parameters per rule kind, as the API documents them. */
const PARAMS: Record<QuotaRule['kind'], string> = {
  percent_increase: '{"maxPercent": 20, "cooldownDays": 30}',
  temporary_grant: '{"maxFactor": 2, "maxDays": 14}',
  tier_ceiling: '{"maxHardBytes": 10000000000000, "maxHardInodes": null}',
};

/** Runs an API call and reports failure in the API's words. */
function useAction() {
  const caller = useCaller();
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>();
  const run = async (method: string, path: string, body: unknown, done: string, after: () => void) => {
    try {
      await api(caller.token, method, path, body);
      setMessage({ ok: true, text: done });
      after();
    } catch (err) {
      setMessage({ ok: false, text: err instanceof ApiError ? err.message : String(err) });
    }
  };
  const view = message && (
    <p className={message.ok ? 'note' : 'error'} role={message.ok ? 'status' : 'alert'}>
      {message.text}
    </p>
  );
  const fail = (text: string) => setMessage({ ok: false, text });
  return { run, view, fail };
}

/** `/admin/rules`: the rules in evaluation order, add one, enable or disable, delete. */
export function Rules() {
  const { t } = useI18n();
  const list = useGet<{ items: QuotaRule[] }>('/v1/quota-rules');
  const { run, view, fail } = useAction();
  const [tier, setTier] = useState('standard');
  const [kind, setKind] = useState<QuotaRule['kind']>('percent_increase');
  const [params, setParams] = useState(PARAMS.percent_increase);
  const [position, setPosition] = useState('100');
  const add = (e: FormEvent) => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(params);
    } catch {
      return fail(t('badJson'));
    }
    void run('POST', '/v1/quota-rules', { tier, kind, params: parsed, position: Number(position) }, t('done'), list.reload);
  };
  const replace = (r: QuotaRule, enabled: boolean) =>
    run('PUT', `/v1/quota-rules/${r.id}`, { tier: r.tier, kind: r.kind, params: r.params, position: r.position, enabled, description: r.description }, t('done'), list.reload);
  return (
    <section>
      <h1>{t('rules')}</h1>
      {view}
      <Status loading={list.loading && !list.data} error={list.error}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('tier')}</th>
              <th scope="col">{t('position')}</th>
              <th scope="col">{t('kindCol')}</th>
              <th scope="col">{t('params')}</th>
              <th scope="col">{t('state')}</th>
              <th scope="col">{t('actionsCol')}</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((r) => (
              <tr key={r.id}>
                <td>{r.tier}</td>
                <td>{r.position}</td>
                <td>{r.kind}</td>
                <td className="path">{JSON.stringify(r.params)}</td>
                <td>{r.enabled ? t('enabled') : t('disabled')}</td>
                <td>
                  <button type="button" onClick={() => replace(r, !r.enabled)}>
                    {r.enabled ? t('disable') : t('enable')}
                  </button>{' '}
                  <button type="button" onClick={() => run('DELETE', `/v1/quota-rules/${r.id}`, undefined, t('done'), list.reload)}>
                    {t('delete')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Status>
      <h2>{t('addRule')}</h2>
      <form className="form" onSubmit={add}>
        <label>
          {t('tier')}
          <input value={tier} onChange={(e) => setTier(e.target.value)} required />
        </label>
        <label>
          {t('kindCol')}
          <select
            value={kind}
            onChange={(e) => {
              const k = e.target.value as QuotaRule['kind'];
              setKind(k);
              setParams(PARAMS[k]);
            }}
          >
            {Object.keys(PARAMS).map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          {t('params')} (JSON)
          <textarea value={params} onChange={(e) => setParams(e.target.value)} spellCheck={false} />
        </label>
        <label>
          {t('position')}
          <input type="number" min="0" value={position} onChange={(e) => setPosition(e.target.value)} />
        </label>
        <button type="submit">{t('addRule')}</button>
      </form>
    </section>
  );
}

/** `/admin/tenants`: each tenant's contacts, language and tier, editable in place. */
export function Tenants() {
  const { t } = useI18n();
  const list = useGet<Page<Tenant>>('/v1/tenants?limit=500');
  const { run, view } = useAction();
  return (
    <section>
      <h1>{t('tenants')}</h1>
      {view}
      <Status loading={list.loading && !list.data} error={list.error}>
        <ul className="cards">
          {list.data?.items.map((x) => (
            <TenantCard key={x.id} tenant={x} save={(body) => run('PATCH', `/v1/tenants/${x.id}`, body, t('done'), list.reload)} />
          ))}
        </ul>
      </Status>
    </section>
  );
}

/** One tenant's form; only changed fields are sent. */
function TenantCard({ tenant, save }: { tenant: Tenant; save: (body: object) => Promise<void> }) {
  const { t } = useI18n();
  const [email, setEmail] = useState(tenant.email);
  const [language, setLanguage] = useState(tenant.language);
  const [webhook, setWebhook] = useState(tenant.webhookUrl ?? '');
  const [tier, setTier] = useState(tenant.tier);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: Record<string, unknown> = {};
    if (email !== tenant.email) body.email = email;
    if (language !== tenant.language) body.language = language;
    if (webhook !== (tenant.webhookUrl ?? '')) body.webhookUrl = webhook === '' ? null : webhook;
    if (tier !== tenant.tier) body.tier = tier;
    if (Object.keys(body).length) void save(body);
  };
  return (
    <li className="card">
      <h2>
        {tenant.displayName} <span className="muted">{tenant.id}</span>
      </h2>
      <form className="form" onSubmit={submit}>
        <label>
          {t('email')}
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          {t('language')}
          <select value={language} onChange={(e) => setLanguage(e.target.value as Tenant['language'])}>
            <option value="en">English</option>
            <option value="zh">中文</option>
          </select>
        </label>
        <label>
          {t('webhook')}
          <input type="url" value={webhook} onChange={(e) => setWebhook(e.target.value)} />
        </label>
        <label>
          {t('tier')}
          <input value={tier} onChange={(e) => setTier(e.target.value)} />
        </label>
        <button type="submit">{t('save')}</button>
      </form>
    </li>
  );
}

/** `/admin/templates`: every notice template in effect; edit one, or reset it to the built-in. */
export function Templates() {
  const { t } = useI18n();
  const list = useGet<{ items: Template[] }>('/v1/notification-templates');
  const { run, view } = useAction();
  const [open, setOpen] = useState<string | undefined>();
  return (
    <section>
      <h1>{t('templates')}</h1>
      {view}
      <Status loading={list.loading && !list.data} error={list.error}>
        <ul className="plain">
          {list.data?.items.map((x) => {
            const key = `${x.type}/${x.language}`;
            return (
              <li key={key}>
                <button type="button" className="linklike" aria-expanded={open === key} onClick={() => setOpen(open === key ? undefined : key)}>
                  {key}
                </button>{' '}
                {x.overridden && <span className="muted">({t('overridden')})</span>}
                {open === key && <TemplateForm template={x} run={run} after={list.reload} />}
              </li>
            );
          })}
        </ul>
      </Status>
    </section>
  );
}

/** Edits one template (the HTML is shown as text: it is only ever rendered in e-mails). */
function TemplateForm({ template, run, after }: { template: Template; run: ReturnType<typeof useAction>['run']; after: () => void }) {
  const { t } = useI18n();
  const [subject, setSubject] = useState(template.subject);
  const [text, setText] = useState(template.text);
  const [html, setHtml] = useState(template.html);
  const path = `/v1/notification-templates/${template.type}/${template.language}`;
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        void run('PUT', path, { subject, text, html }, t('done'), after);
      }}
    >
      <label>
        {t('subject')}
        <input value={subject} onChange={(e) => setSubject(e.target.value)} required />
      </label>
      <label>
        {t('textBody')}
        <textarea value={text} onChange={(e) => setText(e.target.value)} required />
      </label>
      <label>
        HTML
        <textarea value={html} onChange={(e) => setHtml(e.target.value)} required spellCheck={false} />
      </label>
      <button type="submit">{t('save')}</button>{' '}
      {template.overridden && (
        <button type="button" onClick={() => run('DELETE', path, undefined, t('done'), after)}>
          {t('reset')}
        </button>
      )}
    </form>
  );
}
