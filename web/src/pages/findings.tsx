/**
 * What is eating the quota, from the latest enriched walk (GET /v1/volumes/{id}/insights): the
 * findings with what to do and how much it frees, and how the volume changed since the walk
 * before. The texts come from the API in the tenant's language; paths are shown as text.
 */
import type { components } from '../api/schema';
import { formatBytes, formatCount } from '../format';
import { useI18n } from '../i18n/i18n';
import { useGet } from '../use-api';

type Insights = components['schemas']['VolumeInsights'];

/** The findings section; nothing at all until a walk has produced insights. */
export function Findings({ volumeId }: { volumeId: string }) {
  const { t, dateTime } = useI18n();
  const r = useGet<Insights>(`/v1/volumes/${volumeId}/insights?history=1`);
  if (!r.data?.walk) return null;
  const { walk, findings, comparison } = r.data;
  return (
    <section className="findings" aria-labelledby="findings-title">
      <h2 id="findings-title">{t('findings')}</h2>
      <p className="muted">
        {t('walkedAt', { at: dateTime(walk.walkedAt) })} · {t('reclaimable', { bytes: formatBytes(walk.reclaimableBytes) })}
      </p>
      {comparison && <p>{comparison.summary}</p>}
      {findings.length === 0 ? (
        <p>{t('noFindings')}</p>
      ) : (
        <ul className="cards">
          {findings.map((f) => (
            <li key={`${f.rule}:${f.paths[0] ?? ''}`} className="card">
              <h3>{f.title}</h3>
              <p>{f.suggestion}</p>
              <p className="muted">
                {formatBytes(f.bytes)} · {formatCount(f.files)} {t('files')} · {t('reclaimable', { bytes: formatBytes(f.reclaimableBytes) })}
              </p>
              {f.paths.length > 0 && (
                <ul>
                  {f.paths.slice(0, 5).map((p) => (
                    <li key={p} className="path">
                      {p}
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
