/**
 * Pacing of early warnings ("at this rate, full in 3 days"), as a pure function over what was
 * sent before. A warning goes out once when a forecast crosses into its horizon, again only when
 * the forecast moves materially, and never more than `maxPerDay` times per volume in 24 hours,
 * so a noisy trend line cannot turn into a notice every pass.
 */

/** The limits a volume is warned about, most severe first. */
export const warningLevels = ['hard', 'soft'] as const;
export type WarningLevel = (typeof warningLevels)[number];

/** What was said about one level the last time it was sent. */
export interface LevelMemory {
  fullAt: string;
  secondsToFull: number;
  notifiedAt: string;
}

/** What is remembered of a volume's warnings (stored as JSON). */
export interface WarningMemory {
  soft?: LevelMemory;
  hard?: LevelMemory;
  /** When warnings were sent within the last 24 hours. */
  recent: string[];
}

/** The pacing settings (config: FORECAST_ALERT_DAYS, FORECAST_WARN_SOFT_DAYS, FORECAST_RESEND_*, FORECAST_MAX_PER_DAY). */
export interface PacingOptions {
  horizonDays: Record<WarningLevel, number>;
  /** Re-send when the predicted full time moves by more than this fraction of the time-to-full last sent… */
  resendChange: number;
  /** …or by more than this many hours. */
  resendShiftHours: number;
  maxPerDay: number;
}

/** A level's forecast now: when it is reached (null: no limit, or not growing). */
export type LevelForecasts = Record<WarningLevel, { fullAt: Date; secondsToFull: number } | null>;

/** What to do now. */
export interface WarningPlan {
  /** The level to warn about now, or null. */
  send: WarningLevel | null;
  why: 'crossing' | 'moved' | null;
  /** A warning was due but the daily cap held it back. */
  capped: boolean;
  /** The memory to store (unchanged when nothing changed). */
  memory: WarningMemory;
}

const DAY_MS = 86_400_000;

/** An empty memory. */
export const emptyMemory = (): WarningMemory => ({ recent: [] });

/**
 * Decides whether to warn now. Levels whose forecast is outside their horizon are forgotten
 * (re-armed: the next crossing is news). Of the levels due, the most severe is sent; a hard-limit
 * warning also counts as said for the soft limit, which it implies.
 */
export function planWarning(prev: WarningMemory, forecasts: LevelForecasts, now: Date, o: PacingOptions): WarningPlan {
  const memory: WarningMemory = { ...prev, recent: prev.recent.filter((t) => now.getTime() - Date.parse(t) < DAY_MS) };
  const due: { level: WarningLevel; why: 'crossing' | 'moved' }[] = [];
  for (const level of warningLevels) {
    const f = forecasts[level];
    if (!f || f.secondsToFull > o.horizonDays[level] * 86_400) {
      delete memory[level];
      continue;
    }
    const last = memory[level];
    if (!last) due.push({ level, why: 'crossing' });
    else if (movedMaterially(last, f.fullAt, o)) due.push({ level, why: 'moved' });
  }
  const first = due[0];
  if (!first) return { send: null, why: null, capped: false, memory };
  if (memory.recent.length >= o.maxPerDay) return { send: null, why: null, capped: true, memory };
  for (const level of warningLevels) {
    const f = forecasts[level];
    // The level sent, and any less severe one also due: a "hard limit in 2 days" says it all.
    if (f && (level === first.level || (warningLevels.indexOf(level) > warningLevels.indexOf(first.level) && due.some((d) => d.level === level)))) {
      memory[level] = { fullAt: f.fullAt.toISOString(), secondsToFull: f.secondsToFull, notifiedAt: now.toISOString() };
    }
  }
  memory.recent = [...memory.recent, now.toISOString()];
  return { send: first.level, why: first.why, capped: false, memory };
}

/** True when the predicted full time moved by more than the configured share or shift. */
export function movedMaterially(last: LevelMemory, fullAt: Date, o: Pick<PacingOptions, 'resendChange' | 'resendShiftHours'>): boolean {
  const shiftMs = Math.abs(fullAt.getTime() - Date.parse(last.fullAt));
  return shiftMs > o.resendChange * last.secondsToFull * 1000 || shiftMs > o.resendShiftHours * 3_600_000;
}
