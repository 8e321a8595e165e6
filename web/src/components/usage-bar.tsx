/**
 * A usage bar with soft and hard marks, drawn in SVG (attributes, not inline styles, so the
 * page's Content-Security-Policy holds). The scale is the hard limit, or the soft one, plus room.
 */
import { formatBytes, formatCount } from '../format';
import { useI18n } from '../i18n/i18n';

/** Props: what is used and the two limits (null = unlimited). */
export interface UsageBarProps {
  label: string;
  used: number;
  soft: number | null;
  hard: number | null;
  kind: 'bytes' | 'count';
}

/** One labelled bar. */
export function UsageBar({ label, used, soft, hard, kind }: UsageBarProps) {
  const { t } = useI18n();
  const fmt = kind === 'bytes' ? formatBytes : formatCount;
  const top = Math.max(hard ?? 0, soft ?? 0, used) * 1.1 || 1;
  const x = (v: number) => Math.min(100, (v / top) * 100);
  const level = hard !== null && used >= hard ? 'over-hard' : soft !== null && used > soft ? 'over-soft' : 'fine';
  const text = `${label}: ${t('used', { used: fmt(used), hard: hard === null ? t('unlimited') : fmt(hard) })}${soft !== null ? ` (${t('soft')} ${fmt(soft)})` : ''}`;
  // Without limits there is no scale to draw against: the words say it all.
  if (soft === null && hard === null) return <div className="usage usage-label">{text}</div>;
  return (
    <div className="usage">
      <div className="usage-label">{text}</div>
      <svg className="bar" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label={text}>
        <rect className="bar-bg" x="0" y="0" width="100" height="8" />
        <rect className={`bar-fill ${level}`} x="0" y="0" width={x(used)} height="8" />
        {soft !== null && <line className="mark-soft" x1={x(soft)} x2={x(soft)} y1="0" y2="8" />}
        {hard !== null && <line className="mark-hard" x1={x(hard)} x2={x(hard)} y1="0" y2="8" />}
      </svg>
    </div>
  );
}
