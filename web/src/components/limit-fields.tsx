/**
 * The limit inputs every quota form shows: a unit for the byte limits, then the soft and hard
 * limits for space and inodes and the grace period, each a text figure as typed (an empty one is
 * no limit). The admin's create and edit forms show all five; a request shows the ones it may ask
 * for. The parsers turn the figures into what the API takes.
 */
import type { MessageKey } from '../i18n/messages';
import { UNIT_BYTES } from '../format';
import { useI18n } from '../i18n/i18n';

/** A unit the byte limits are typed in. */
export type Unit = keyof typeof UNIT_BYTES;

/** The name of a limit input (also its form field name, except grace: `graceDays`). */
export type LimitName = 'softBytes' | 'hardBytes' | 'softInodes' | 'hardInodes' | 'graceDays';

/** The figures as typed, one per input shown. */
export type LimitValues<N extends LimitName = LimitName> = Record<N, string>;

/** One input to show: which limit, its label, and whether the form needs it. */
export interface LimitField<N extends LimitName = LimitName> {
  name: N;
  label: MessageKey;
  required?: boolean;
}

/** What each kind of figure accepts: a fraction of a unit, whole inodes, up to a year of grace. */
const INPUT: Record<LimitName, { step: string; max?: string }> = {
  softBytes: { step: 'any' },
  hardBytes: { step: 'any' },
  softInodes: { step: '1' },
  hardInodes: { step: '1' },
  graceDays: { step: 'any', max: '365' },
};

/** The admin forms' inputs: all four limits and the grace period. */
export const QUOTA_LIMIT_FIELDS: readonly LimitField[] = [
  { name: 'softBytes', label: 'dqSoftBytes' },
  { name: 'hardBytes', label: 'dqHardBytes' },
  { name: 'softInodes', label: 'dqSoftInodes' },
  { name: 'hardInodes', label: 'dqHardInodes' },
  { name: 'graceDays', label: 'dqGraceDays' },
];

/** Seconds in a day: the grace period is typed in days and sent in seconds. */
export const DAY_SECONDS = 86_400;

/** A figure in `unit`s as bytes, or undefined when empty. */
export function parseBytes(s: string, unit: Unit): number | undefined {
  return s.trim() === '' ? undefined : Math.round(Number(s) * UNIT_BYTES[unit]);
}

/** A whole count, or undefined when empty. */
export function parseCount(s: string): number | undefined {
  return s.trim() === '' ? undefined : Math.round(Number(s));
}

/** A figure in days as seconds, or undefined when empty. */
export function parseDays(s: string): number | undefined {
  return s.trim() === '' ? undefined : Math.round(Number(s) * DAY_SECONDS);
}

/** The unit picker, then one labelled number input per field, in the order given. */
export function LimitFields<N extends LimitName>({
  fields,
  values,
  onChange,
  unit,
  onUnit,
}: {
  fields: readonly LimitField<N>[];
  values: LimitValues<N>;
  onChange: (name: N, value: string) => void;
  unit: Unit;
  onUnit: (u: Unit) => void;
}) {
  const { t } = useI18n();
  return (
    <>
      <label>
        {t('unit')}
        <select name="unit" value={unit} onChange={(e) => onUnit(e.target.value as Unit)}>
          {Object.keys(UNIT_BYTES).map((u) => (
            <option key={u}>{u}</option>
          ))}
        </select>
      </label>
      {fields.map(({ name, label, required }) => (
        <label key={name}>
          {t(label)}
          <input name={name} type="number" min="0" {...INPUT[name]} required={required} value={values[name]} onChange={(e) => onChange(name, e.target.value)} />
        </label>
      ))}
    </>
  );
}
