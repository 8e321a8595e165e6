/** Early-warning pacing: once per crossing, again on a material move, a daily cap. */
import { describe, expect, it } from 'vitest';
import { emptyMemory, movedMaterially, planWarning, type LevelForecasts, type PacingOptions, type WarningMemory } from '../../../server/notifications/forecast-pacing.js';

const H = 3_600_000;
const D = 24 * H;
const opts: PacingOptions = { horizonDays: { hard: 3, soft: 7 }, resendChange: 0.25, resendShiftHours: 24, maxPerDay: 2 };
const t0 = new Date('2026-12-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
/** A forecast reached `inMs` after `now`. */
const f = (now: Date, inMs: number) => ({ fullAt: new Date(now.getTime() + inMs), secondsToFull: inMs / 1000 });
const none: LevelForecasts = { hard: null, soft: null };

describe('planWarning', () => {
  it('warns once when a forecast crosses into its horizon, not on the next check with the same forecast', () => {
    const p1 = planWarning(emptyMemory(), { hard: null, soft: f(t0, 5 * D) }, t0, opts);
    expect(p1).toMatchObject({ send: 'soft', why: 'crossing', capped: false });
    const now = at(6 * H);
    // The same predicted time, six hours later: nothing new to say.
    const p2 = planWarning(p1.memory, { hard: null, soft: { fullAt: at(5 * D), secondsToFull: (5 * D - 6 * H) / 1000 } }, now, opts);
    expect(p2.send).toBeNull();
    expect(p2.memory.soft).toEqual(p1.memory.soft);
  });

  it('ignores forecasts outside the horizon, and re-arms when the forecast leaves it', () => {
    expect(planWarning(emptyMemory(), { hard: f(t0, 4 * D), soft: f(t0, 8 * D) }, t0, opts).send).toBeNull();
    const sent = planWarning(emptyMemory(), { hard: f(t0, 2 * D), soft: null }, t0, opts);
    expect(sent.send).toBe('hard');
    const away = planWarning(sent.memory, { hard: f(at(3 * H), 10 * D), soft: null }, at(3 * H), opts);
    expect(away.send).toBeNull();
    expect(away.memory.hard).toBeUndefined();
    // Next day, back within the horizon: a new crossing.
    const back = planWarning(away.memory, { hard: f(at(D + 4 * H), 2 * D), soft: null }, at(D + 4 * H), opts);
    expect(back).toMatchObject({ send: 'hard', why: 'crossing' });
  });

  it('re-sends when the predicted time moves by more than 25 % or a day, not for less', () => {
    const first = planWarning(emptyMemory(), { hard: null, soft: f(t0, 6 * D) }, t0, opts);
    // 20 hours later than predicted: under 25 % of six days (36 h) and under a day.
    const small = planWarning(first.memory, { hard: null, soft: { fullAt: at(6 * D + 20 * H), secondsToFull: (6 * D + 14 * H) / 1000 } }, at(6 * H), opts);
    expect(small.send).toBeNull();
    // 30 hours sooner: more than a day.
    const big = planWarning(first.memory, { hard: null, soft: { fullAt: at(6 * D - 30 * H), secondsToFull: (6 * D - 36 * H) / 1000 } }, at(6 * H), opts);
    expect(big).toMatchObject({ send: 'soft', why: 'moved' });
    // Short horizons: 25 % of 8 hours is 2 hours.
    const last = { fullAt: at(8 * H).toISOString(), secondsToFull: 8 * 3600, notifiedAt: t0.toISOString() };
    expect(movedMaterially(last, at(10 * H + 60_000), opts)).toBe(true);
    expect(movedMaterially(last, at(9 * H), opts)).toBe(false);
  });

  it('never sends more than maxPerDay in 24 hours, and sends the held-back warning once the window frees', () => {
    let m: WarningMemory = emptyMemory();
    const sends: string[] = [];
    // The forecast swings between two and five days out every hour: each even hour is a
    // material move from the last one sent.
    for (let h = 0; h < 30; h++) {
      const now = at(h * H);
      const p = planWarning(m, { hard: null, soft: f(now, (h % 2 ? 2 : 5) * D) }, now, opts);
      if (p.send) sends.push(now.toISOString());
      else if (h > 1 && h < 24 && h % 2 === 0) expect(p.capped).toBe(true);
      m = p.memory;
    }
    expect(sends).toEqual([at(0).toISOString(), at(H).toISOString(), at(24 * H).toISOString(), at(25 * H).toISOString()]);
  });

  it('sends the most severe level, which also counts as said for the soft limit', () => {
    const p = planWarning(emptyMemory(), { hard: f(t0, 2 * D), soft: f(t0, D) }, t0, opts);
    expect(p.send).toBe('hard');
    expect(p.memory.soft).toBeDefined();
    expect(p.memory.recent).toHaveLength(1);
    expect(planWarning(p.memory, { hard: f(at(H), 2 * D - H), soft: f(at(H), D - H) }, at(H), opts).send).toBeNull();
    expect(planWarning(emptyMemory(), none, t0, opts)).toMatchObject({ send: null, capped: false });
  });
});
