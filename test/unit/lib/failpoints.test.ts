import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../server/config.js';
import { FailpointError, failpoint, parseFailpoints, setFailpoints } from '../../../server/lib/failpoints.js';

describe('failpoints', () => {
  it('parses name=action lists and refuses unknown names and actions', () => {
    expect([...parseFailpoints('freeze.after-commit=crash, purge.after-metadata=error,grant.after-commit')]).toEqual([
      ['freeze.after-commit', 'crash'],
      ['purge.after-metadata', 'error'],
      ['grant.after-commit', 'crash'],
    ]);
    expect(parseFailpoints('').size).toBe(0);
    expect(() => parseFailpoints('freeze.before-lunch=crash')).toThrow(/unknown failpoint "freeze.before-lunch"/);
    expect(() => parseFailpoints('freeze.after-commit=explode')).toThrow(/crash or error/);
    expect(() => loadConfig({ FAILPOINTS: 'nope' })).toThrow(/FAILPOINTS/);
  });

  it('does nothing unless armed; an armed `error` point throws at that step only', () => {
    expect(() => failpoint('freeze.after-commit')).not.toThrow();
    setFailpoints(parseFailpoints('unfreeze.after-commit=error'));
    try {
      expect(() => failpoint('freeze.after-commit')).not.toThrow();
      expect(() => failpoint('unfreeze.after-commit')).toThrow(FailpointError);
    } finally {
      setFailpoints(new Map());
    }
  });
});
