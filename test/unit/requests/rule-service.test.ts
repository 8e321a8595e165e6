/** RuleService over the in-memory store: params checked by kind, replace and delete by id, audit rows in the change's transaction. */
import { beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../../server/lib/errors.js';
import { FakeRuleStore } from '../../../server/requests/fake-rule-store.js';
import { RuleService, type RuleInput } from '../../../server/requests/rule-service.js';
import { failAudits } from '../../support/unit.js';

const alice = { sub: 'alice', role: 'admin' };
const bob = { sub: 'bob', role: 'admin' };
const percent: RuleInput = { tier: 'gold', kind: 'percent_increase', params: { maxPercent: 25, cooldownDays: 7 } };

/** The ApiError a promise rejects with. */
const apiError = async (p: Promise<unknown>): Promise<ApiError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
};

describe('RuleService', () => {
  let store: FakeRuleStore;
  let service: RuleService;
  beforeEach(() => {
    store = new FakeRuleStore();
    service = new RuleService(store);
  });

  it('creates a rule with a new id and the defaults, audited with its image', async () => {
    const { rule, created } = await service.save(alice, percent);
    expect(created).toBe(true);
    expect(rule.id).toMatch(/^rul_[0-9a-z]{26}$/);
    expect(rule).toMatchObject({ tier: 'gold', kind: 'percent_increase', params: { maxPercent: 25, cooldownDays: 7 }, position: 100, enabled: true, description: null, createdBy: 'alice' });
    expect(store.audits).toEqual([
      {
        actor: alice,
        action: 'quota_rule.created',
        entityType: 'quota_rule',
        entityId: rule.id,
        tenantId: null,
        before: null,
        after: { tier: 'gold', kind: 'percent_increase', params: { maxPercent: 25, cooldownDays: 7 }, position: 100, enabled: true, description: null },
      },
    ]);
    expect(await service.get(rule.id)).toEqual(rule);
  });

  it.each([
    ['an unknown field', { ...percent, params: { maxPercent: 25, cooldownDays: 7, extra: 1 } }, '/body/params'],
    ['a percent out of range', { ...percent, params: { maxPercent: 5000, cooldownDays: 7 } }, '/body/params/maxPercent'],
    ['a grant factor of 1', { tier: 'gold', kind: 'temporary_grant', params: { maxFactor: 1, maxDays: 30 } }, '/body/params/maxFactor'],
    ['a ceiling with no limit', { tier: 'gold', kind: 'tier_ceiling', params: { maxHardBytes: null, maxHardInodes: null } }, '/body/params'],
  ] as [string, RuleInput, string][])('refuses %s (400 validation_failed naming the field) and writes nothing', async (_what, input, path) => {
    const err = await apiError(service.save(alice, input));
    expect(err).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((err.extra.errors as { path: string }[]).map((e) => e.path)).toContain(path);
    expect(await service.list()).toEqual([]);
    expect(store.audits).toEqual([]);
  });

  it('replaces a rule by id: keeps its creator and, unless given, its position and state; audits before and after', async () => {
    const { rule: first } = await service.save(alice, { ...percent, position: 10, enabled: false, description: 'first' });
    const { rule, created } = await service.save(bob, { tier: 'gold', kind: 'temporary_grant', params: { maxFactor: 2, maxDays: 30 } }, first.id);
    expect(created).toBe(false);
    expect(rule).toMatchObject({ id: first.id, kind: 'temporary_grant', params: { maxFactor: 2, maxDays: 30 }, position: 10, enabled: false, description: null, createdBy: 'alice' });
    expect(store.audits[1]).toMatchObject({
      actor: bob,
      action: 'quota_rule.updated',
      entityId: first.id,
      before: { kind: 'percent_increase', position: 10, description: 'first' },
      after: { kind: 'temporary_grant', position: 10, description: null },
    });
  });

  it('refuses to replace or delete a rule that does not exist (404 rule_not_found) and writes nothing', async () => {
    expect(await apiError(service.save(alice, percent, 'rul_missing'))).toMatchObject({ status: 404, code: 'rule_not_found' });
    expect(await apiError(service.remove(alice, 'rul_missing'))).toMatchObject({ status: 404, code: 'rule_not_found' });
    expect(await apiError(service.get('rul_missing'))).toMatchObject({ status: 404, code: 'rule_not_found' });
    expect(await service.list()).toEqual([]);
    expect(store.audits).toEqual([]);
  });

  it('deletes a rule and audits its last image', async () => {
    const { rule } = await service.save(alice, percent);
    expect(await service.remove(bob, rule.id)).toEqual(rule);
    expect(await service.list('gold')).toEqual([]);
    expect(store.audits[1]).toMatchObject({ actor: bob, action: 'quota_rule.deleted', entityId: rule.id, before: { tier: 'gold', kind: 'percent_increase' }, after: null });
  });

  it('lists a tier in evaluation order', async () => {
    const late = (await service.save(alice, { ...percent, position: 50 })).rule;
    const early = (await service.save(alice, { ...percent, position: 5 })).rule;
    await service.save(alice, { ...percent, tier: 'standard' });
    expect((await service.list('gold')).map((r) => r.id)).toEqual([early.id, late.id]);
    expect(await service.list()).toHaveLength(3);
  });

  it('keeps the rule as it was when its audit row cannot be written', async () => {
    const { rule } = await service.save(alice, percent);
    failAudits(store);
    await expect(service.save(bob, { ...percent, params: { maxPercent: 50, cooldownDays: 0 } }, rule.id)).rejects.toThrow('audit log down');
    await expect(service.remove(bob, rule.id)).rejects.toThrow('audit log down');
    expect(await service.get(rule.id)).toEqual(rule);
  });
});
