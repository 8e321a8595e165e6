import { describe, expect, it } from 'vitest';
import { evaluateRules, type CurrentLimits, type Rule } from '../../../server/requests/auto-approval.js';

const TB = 10n ** 12n;
const now = new Date('2026-11-25T00:00:00Z');
const days = (n: number) => new Date(now.getTime() + n * 86_400_000);
const current: CurrentLimits = { softBytes: (9n * TB) / 10n, hardBytes: TB, softInodes: null, hardInodes: 1_000_000n };
const rules: Rule[] = [
  { id: 'ceiling', kind: 'tier_ceiling', maxHardBytes: 5n * TB, maxHardInodes: 10_000_000n },
  { id: 'plus20', kind: 'percent_increase', maxPercent: 20, cooldownDays: 30 },
  { id: 'temp2x', kind: 'temporary_grant', maxFactor: 2, maxDays: 14 },
];
const fresh = { lastAutoApprovedAt: null };

describe('auto-approval rules', () => {
  it('approves an increase up to 20 % by the percent rule, naming it', () => {
    const v = evaluateRules(rules, { hardBytes: (TB * 12n) / 10n }, current, fresh, now);
    expect(v).toMatchObject({ approve: true, ruleId: 'plus20' });
  });

  it('sends 21 % to review, saying why', () => {
    const v = evaluateRules(rules, { hardBytes: (TB * 121n) / 100n }, current, fresh, now);
    expect(v.approve).toBe(false);
    expect(v.explanation).toMatch(/plus20 allows at most \+20%/);
  });

  it('the percent rule applies at most once per cooldown', () => {
    const v = evaluateRules(rules, { hardBytes: (TB * 11n) / 10n }, current, { lastAutoApprovedAt: days(-10) }, now);
    expect(v.approve).toBe(false);
    expect(v.explanation).toMatch(/once every 30 days|every 30 days/);
    expect(evaluateRules(rules, { hardBytes: (TB * 11n) / 10n }, current, { lastAutoApprovedAt: days(-31) }, now).approve).toBe(true);
  });

  it('approves a temporary 2x grant for up to 14 days', () => {
    expect(evaluateRules(rules, { hardBytes: 2n * TB, until: days(14) }, current, fresh, now)).toMatchObject({ approve: true, ruleId: 'temp2x' });
    expect(evaluateRules(rules, { hardBytes: 2n * TB + 1n, until: days(7) }, current, fresh, now).approve).toBe(false);
    expect(evaluateRules(rules, { hardBytes: 2n * TB, until: days(15) }, current, fresh, now).approve).toBe(false);
  });

  it('never auto-approves above the tier ceiling, even as a temporary grant', () => {
    const big: CurrentLimits = { ...current, hardBytes: 4n * TB };
    const v = evaluateRules(rules, { hardBytes: 6n * TB, until: days(1) }, big, fresh, now);
    expect(v.approve).toBe(false);
    expect(v.explanation).toMatch(/above the tier ceiling/);
  });

  it('a limit that is unlimited today cannot be judged by a percentage', () => {
    const v = evaluateRules(rules, { softInodes: 10n }, current, fresh, now);
    expect(v.approve).toBe(false);
    expect(v.explanation).toMatch(/unlimited today/);
  });

  it('with no rules everything goes to review', () => {
    expect(evaluateRules([], { hardBytes: TB }, current, fresh, now)).toEqual({ approve: false, explanation: 'no auto-approval rule for this tier; an admin must review it' });
  });
});
