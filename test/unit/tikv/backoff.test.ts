import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BACKOFF, Backoffer } from '../../../server/engines/tikv/backoff.js';

describe('Backoffer (one retry budget per request)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('grows each kind on its own, caps it, and spends one budget across kinds', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999999); // jitter at its top: sleeps are near the bound
    const bo = new Backoffer(60_000, (s) => new Error(`gave up: ${s}`));
    const sleep = async (p: Promise<void>) => {
      const t0 = Date.now();
      await vi.runAllTimersAsync();
      await p;
      return Date.now() - t0;
    };
    expect(await sleep(bo.backoff(BACKOFF.storeRpc, 'store 1 down'))).toBe(99); // 100·2^0
    expect(await sleep(bo.backoff(BACKOFF.storeRpc, 'store 1 down'))).toBe(199); // 100·2^1
    expect(await sleep(bo.backoff(BACKOFF.notLeader, 'leader moved'))).toBe(1); // its own growth: 2·2^0
    for (let i = 0; i < 6; i++) await sleep(bo.backoff(BACKOFF.storeRpc, 'store 1 down'));
    expect(await sleep(bo.backoff(BACKOFF.storeRpc, 'store 1 down'))).toBe(1999); // capped at 2 s
    expect(bo.attempts()).toBe(10);
    expect(bo.attempts(BACKOFF.storeRpc)).toBe(9);
  });

  it('throws before a sleep would pass the deadline, naming every kind it met', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999999);
    const bo = new Backoffer(1_000, (s) => new Error(`gave up: ${s}`));
    const run = (async () => {
      for (;;) await bo.backoff(BACKOFF.serverBusy, 'store 2 busy');
    })();
    const caught = run.catch((e: Error) => e);
    await vi.runAllTimersAsync();
    const err = (await caught) as Error;
    expect(err.message).toMatch(/^gave up: \d+ retries, \d+ ms slept of a 1000 ms budget \(serverBusy×\d+\); last: .*serverBusy: store 2 busy/);
    expect(Date.now()).toBeLessThanOrEqual(1_000); // never slept past the deadline
  });

  it('uses the time the server asks for (server-is-busy) from the same budget', async () => {
    const bo = new Backoffer(500, (s) => new Error(s));
    const p = bo.backoff(BACKOFF.serverBusy, 'busy', 300);
    await vi.advanceTimersByTimeAsync(300);
    await p;
    await expect(bo.backoff(BACKOFF.serverBusy, 'busy', 300)).rejects.toThrow(/1 retries, 300 ms slept of a 500 ms budget/);
  });
});
