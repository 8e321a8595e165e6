/** One log line per outage and one per recovery, however many failures an outage brings. */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisWatch } from '../../../server/lib/redis-watch.js';

describe('RedisWatch', () => {
  it('logs an outage once across clients and commands, and its recovery once', () => {
    const lines: { level: string; msg: string }[] = [];
    const log = { warn: (_o: object, msg: string) => void lines.push({ level: 'warn', msg }), info: (_o: object, msg: string) => void lines.push({ level: 'info', msg }) };
    const watch = new RedisWatch(log as never, 'lease store');
    const a = new EventEmitter();
    const b = new EventEmitter();
    watch.watch(a as unknown as Redis);
    watch.watch(b as unknown as Redis);
    // Without a listener an 'error' event would throw; with one, twenty failures are one line.
    for (let i = 0; i < 10; i++) {
      a.emit('error', new Error('connect ECONNREFUSED'));
      b.emit('error', new Error('connect ECONNREFUSED'));
    }
    watch.failed(new Error('Command timed out'));
    expect(lines).toEqual([{ level: 'warn', msg: 'Redis (lease store) is unreachable; logging once until it answers again' }]);
    expect(watch.isDown).toBe(true);
    a.emit('ready');
    b.emit('ready');
    watch.recovered();
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info']);
    // A second outage is a second line.
    b.emit('error', new Error('again'));
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info', 'warn']);
    expect(watch.outageCount).toBe(2);
  });

  it('keeps the listener even without a logger', () => {
    const c = new EventEmitter();
    new RedisWatch(undefined, 'rate limits').watch(c as unknown as Redis);
    expect(() => c.emit('error', new Error('x'))).not.toThrow();
  });
});
