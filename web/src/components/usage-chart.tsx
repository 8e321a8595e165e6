/**
 * Usage history as an SVG line with the soft and hard limits as horizontal lines and, when the
 * API forecasts one, a dashed line from the last sample to the day the hard limit is reached.
 */
import type { Usage, UsageHistory } from '../api/client';
import { formatBytes } from '../format';
import { useI18n } from '../i18n/i18n';

const W = 600;
const H = 200;
const PAD = 40;

/** The chart, or a line saying there is no history yet. */
export function UsageChart({ history, usage }: { history: UsageHistory; usage: Usage | undefined }) {
  const { t, dateTime } = useI18n();
  const pts = history.samples.map((s) => ({ at: Date.parse(s.at), bytes: s.bytes }));
  if (usage) pts.push({ at: Date.parse(usage.readAt), bytes: usage.usedBytes });
  if (pts.length === 0) return <p className="muted">{t('historyEmpty')}</p>;
  const soft = usage?.limits.softBytes ?? null;
  const hard = usage?.limits.hardBytes ?? null;
  const fc = usage?.forecast ? { at: Date.parse(usage.forecast.fullAt), bytes: hard ?? 0 } : undefined;
  const t0 = Math.min(...pts.map((p) => p.at));
  const t1 = Math.max(...pts.map((p) => p.at), fc?.at ?? 0, t0 + 1);
  const top = Math.max(...pts.map((p) => p.bytes), hard ?? 0, soft ?? 0) * 1.1 || 1;
  const x = (ms: number) => PAD + ((ms - t0) / (t1 - t0)) * (W - 2 * PAD);
  const y = (b: number) => H - PAD / 2 - (b / top) * (H - PAD);
  const last = pts[pts.length - 1]!;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={t('chartLabel')}>
        <line className="axis" x1={PAD} x2={W - PAD} y1={y(0)} y2={y(0)} />
        {soft !== null && <line className="limit-soft" x1={PAD} x2={W - PAD} y1={y(soft)} y2={y(soft)} />}
        {hard !== null && <line className="limit-hard" x1={PAD} x2={W - PAD} y1={y(hard)} y2={y(hard)} />}
        {soft !== null && (
          <text className="chart-text" x={W - PAD + 2} y={y(soft) + 4}>
            {t('soft')}
          </text>
        )}
        {hard !== null && (
          <text className="chart-text" x={W - PAD + 2} y={y(hard) + 4}>
            {t('hard')}
          </text>
        )}
        <polyline className="series" points={pts.map((p) => `${x(p.at)},${y(p.bytes)}`).join(' ')} />
        {fc && <line className="forecast" x1={x(last.at)} y1={y(last.bytes)} x2={x(fc.at)} y2={y(fc.bytes)} />}
        <text className="chart-text" x={PAD} y={H - 2}>
          {dateTime(new Date(t0).toISOString())}
        </text>
        <text className="chart-text" x={W - PAD} y={H - 2} textAnchor="end">
          {dateTime(new Date(t1).toISOString())}
        </text>
        <text className="chart-text" x="2" y={y(top / 1.1) + 4}>
          {formatBytes(top / 1.1)}
        </text>
      </svg>
      <figcaption className="muted">
        {t('chartLabel')}
        {fc ? ` · ${t('forecastLine')}: ${dateTime(usage?.forecast?.fullAt)}` : ''}
      </figcaption>
    </figure>
  );
}
