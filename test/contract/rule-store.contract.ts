/**
 * The contract every {@link RuleStore} keeps, run against the PostgreSQL store
 * (test/e2e/knex-feature-stores.e2e.test.ts) and the in-memory fake
 * (test/unit/requests/fake-rule-store.test.ts). Tests share a store: each uses tiers and ids of
 * its own.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { NewRule, RuleStore } from '../../server/requests/rule-store.js';

/** A store under test. */
export interface RuleStoreSubject {
  store: RuleStore;
  /** Audit actions written so far about the entity, oldest first. */
  auditActions(entityId: string): Promise<string[]>;
}

const actor = { sub: 'root', role: 'admin' };
const rand = () => Math.random().toString(36).slice(2, 12);

/** Registers the contract suite for one implementation. */
export function ruleStoreContract(name: string, make: () => Promise<RuleStoreSubject>): void {
  describe(`RuleStore contract: ${name}`, () => {
    let s: RuleStoreSubject;
    let tier: string;
    let n = 0;
    const rule = (o: Partial<NewRule> = {}): NewRule => ({
      id: `rul${tier}${String(++n).padStart(3, '0')}`,
      tier,
      kind: 'percent_increase',
      params: { maxPercent: 20, cooldownDays: 7 },
      position: 100,
      enabled: true,
      description: null,
      createdBy: 'alice',
      ...o,
    });
    beforeEach(async () => {
      s = await make();
      tier = `tier${rand()}`;
    });

    it('stores a rule as given, params intact, and finds it by id', async () => {
      const params = { maxHardBytes: 1099511627776, maxHardInodes: null };
      const r = await s.store.save(rule({ kind: 'tier_ceiling', params, position: 5, enabled: false, description: 'one TiB' }));
      expect(r).toMatchObject({ tier, kind: 'tier_ceiling', params, position: 5, enabled: false, description: 'one TiB', createdBy: 'alice' });
      expect(r.createdAt).toBeInstanceOf(Date);
      expect(r.updatedAt).toBeInstanceOf(Date);
      expect(await s.store.find(r.id)).toEqual(r);
      expect(await s.store.find(`${r.id}x`)).toBeUndefined();
    });

    it('replaces a rule by id, keeping who created it and when', async () => {
      const first = await s.store.save(rule());
      const again = await s.store.save({
        ...rule({ id: first.id }),
        kind: 'temporary_grant',
        params: { maxFactor: 2, maxDays: 30 },
        position: 7,
        enabled: false,
        description: 'now',
        createdBy: 'bob',
      });
      expect(again).toMatchObject({ id: first.id, kind: 'temporary_grant', params: { maxFactor: 2, maxDays: 30 }, position: 7, enabled: false, description: 'now', createdBy: 'alice' });
      expect(again.createdAt).toEqual(first.createdAt);
      expect(again.updatedAt.getTime()).toBeGreaterThanOrEqual(first.updatedAt.getTime());
      expect(await s.store.find(first.id)).toEqual(again);
      expect((await s.store.list(tier)).map((r) => r.id)).toEqual([first.id]);
    });

    it('lists a tier in evaluation order (position, then id), and every tier by tier', async () => {
      const c = await s.store.save(rule({ position: 200 }));
      const a = await s.store.save(rule({ position: 10 }));
      const b = await s.store.save(rule({ position: 10 }));
      const other = await s.store.save(rule({ tier: `${tier}z`, position: 1 }));
      expect((await s.store.list(tier)).map((r) => r.id)).toEqual([a.id, b.id, c.id]);
      const mine = new Set([a.id, b.id, c.id, other.id]);
      // Without a tier, other tests' rules may come too, but ours keep the order.
      expect((await s.store.list()).filter((r) => mine.has(r.id)).map((r) => r.id)).toEqual([a.id, b.id, c.id, other.id]);
      expect(await s.store.list(`${tier}none`)).toEqual([]);
    });

    it('removes a rule once', async () => {
      const r = await s.store.save(rule());
      expect(await s.store.remove(r.id)).toBe(true);
      expect(await s.store.remove(r.id)).toBe(false);
      expect(await s.store.find(r.id)).toBeUndefined();
    });

    it('commits a transaction with its audit rows, and rolls both back when it throws', async () => {
      const r = await s.store.transaction(async ({ store, audit }) => {
        const saved = await store.save(rule());
        await audit(actor, { action: 'quota_rule.created', entityType: 'quota_rule', entityId: saved.id, tenantId: null, before: null, after: { tier } });
        return saved;
      });
      const failing = s.store.transaction(async ({ store, audit }) => {
        await store.remove(r.id);
        await store.save(rule({ id: `${r.id}x` }));
        await audit(actor, { action: 'quota_rule.deleted', entityType: 'quota_rule', entityId: r.id, tenantId: null, before: null, after: null });
        throw new Error('refused');
      });
      await expect(failing).rejects.toThrow('refused');
      expect(await s.store.find(r.id)).toEqual(r);
      expect(await s.store.find(`${r.id}x`)).toBeUndefined();
      expect(await s.auditActions(r.id)).toEqual(['quota_rule.created']);
    });
  });
}
