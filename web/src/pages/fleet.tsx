/** The admin's fleet: every live volume, sorted, filtered and paged by the server (GET /v1/fleet). */
import { useState } from 'react';
import { query, type FleetList } from '../api/client';
import { StateBadge, Status } from '../components/common';
import { formatBytes } from '../format';
import { useI18n } from '../i18n/i18n';
import { Link } from '../router';
import { useGet } from '../use-api';

const PAGE = 50;

/** Only a whole tenant slug filters (a half-typed one would be a 400). */
export const slug = (s: string) => (/^[a-z0-9][a-z0-9-]{1,30}$/.test(s) ? s : undefined);

/** Columns the server sorts by, with their header keys. */
const COLUMNS = [
  ['name', 'volume'],
  ['tenant', 'tenant'],
  ['state', 'state'],
  ['usedBytes', 'usedCol'],
  ['percent', 'percentHard'],
  ['growth', 'growthCol'],
  ['lastWalk', 'lastWalk'],
] as const;
type SortKey = (typeof COLUMNS)[number][0];

/** `/` for admins: every volume, sorted, filtered and paged by the server (GET /v1/fleet). */
export function Fleet() {
  const { t, dateTime } = useI18n();
  const [tenant, setTenant] = useState('');
  const [state, setState] = useState('');
  const [engine, setEngine] = useState('');
  const [minPercent, setMinPercent] = useState('');
  const [sort, setSort] = useState<SortKey>('percent');
  const [order, setOrder] = useState<'asc' | 'desc'>('desc');
  const [offset, setOffset] = useState(0);
  const pct = minPercent.trim() === '' || Number.isNaN(Number(minPercent)) ? undefined : Math.max(0, Number(minPercent));
  const list = useGet<FleetList>(`/v1/fleet${query({ limit: PAGE, offset, sort, order, tenantId: slug(tenant), state, engine, minPercent: pct })}`);
  const filter = (f: () => void) => {
    f();
    setOffset(0);
  };
  const sortBy = (k: SortKey) =>
    filter(() => {
      if (k === sort) setOrder(order === 'asc' ? 'desc' : 'asc');
      else {
        setSort(k);
        setOrder(k === 'name' || k === 'tenant' ? 'asc' : 'desc');
      }
    });
  const total = list.data?.total ?? 0;
  return (
    <section>
      <h1>{t('fleet')}</h1>
      <div className="filters">
        <label>
          {t('filterTenant')}
          <input value={tenant} onChange={(e) => filter(() => setTenant(e.target.value.trim()))} />
        </label>
        <label>
          {t('state')}
          <select value={state} onChange={(e) => filter(() => setState(e.target.value))}>
            <option value="">{t('any')}</option>
            {(['ok', 'over_soft', 'frozen', 'unknown'] as const).map((s) => (
              <option key={s} value={s}>
                {t(`state_${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('engine')}
          <select value={engine} onChange={(e) => filter(() => setEngine(e.target.value))}>
            <option value="">{t('any')}</option>
            {['local', 'etcd', 'tikv', 'redis'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          {t('minPercent')}
          <input type="number" min="0" value={minPercent} onChange={(e) => filter(() => setMinPercent(e.target.value))} />
        </label>
      </div>
      <Status loading={list.loading && !list.data} error={list.error}>
        <p className="muted" aria-live="polite">
          {t('rows', { from: total ? offset + 1 : 0, to: Math.min(offset + PAGE, total), total })}
        </p>
        <table>
          <thead>
            <tr>
              {COLUMNS.map(([k, label]) => (
                <th key={k} scope="col" aria-sort={k === sort ? (order === 'asc' ? 'ascending' : 'descending') : undefined}>
                  <button type="button" className="linklike" onClick={() => sortBy(k)}>
                    {t(label)}
                    {k === sort ? (order === 'asc' ? ' ▲' : ' ▼') : ''}
                  </button>
                </th>
              ))}
              <th scope="col">{t('engine')}</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((v) => (
              <tr key={v.id}>
                <td>
                  <Link to={`/volumes/${v.id}`}>{v.name}</Link>
                </td>
                <td>{v.tenantId}</td>
                <td>
                  <StateBadge state={v.state} />
                </td>
                <td>
                  {formatBytes(v.usedBytes)} / {v.hardBytes == null ? t('unlimited') : formatBytes(v.hardBytes)}
                </td>
                <td>{v.percentOfHard == null ? '–' : `${v.percentOfHard}%`}</td>
                <td>{v.growthPerDay == null ? '–' : `${formatBytes(v.growthPerDay)}/d`}</td>
                <td>{dateTime(v.lastWalkAt)}</td>
                <td>{v.engine}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p>
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            {t('previous')}
          </button>{' '}
          <button type="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
            {t('next')}
          </button>
        </p>
      </Status>
    </section>
  );
}
