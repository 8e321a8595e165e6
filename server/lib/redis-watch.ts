/**
 * Outage logging for ioredis clients. ioredis emits `error` on every failed connection attempt
 * and many commands; with no listener it prints "Unhandled error event" for each. A watch gives
 * each client a listener and logs one warning when its server stops answering and one line when
 * it answers again, however many clients (one per Redis database) share the server.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Log sink of a watch: pino's warn and info are enough. */
export type WatchLog = Pick<Logger, 'warn' | 'info'>;

/** One server's up/down state, shared by every client watched through it. */
export class RedisWatch {
  private down = false;
  private outages = 0;

  constructor(
    private readonly log: WatchLog | undefined,
    /** What the server is for, e.g. "lease store" or "rate limits"; never its address. */
    readonly what: string,
  ) {}

  /** Whether the last event seen was a failure (no `ready` since). */
  get isDown(): boolean {
    return this.down;
  }

  /** Outages seen so far (each logged once). */
  get outageCount(): number {
    return this.outages;
  }

  /** Attaches the listeners to `client`; returns it, for use in an expression. */
  watch(client: Redis): Redis {
    client.on('error', (err: Error) => this.failed(err));
    client.on('ready', () => this.recovered());
    return client;
  }

  /** Records a failure seen outside the client's events (a timed-out command, a refused call). */
  failed(err: Error): void {
    if (this.down) return;
    this.down = true;
    this.outages++;
    this.log?.warn({ err: { message: err.message, code: (err as { code?: unknown }).code }, redis: this.what }, `Redis (${this.what}) is unreachable; logging once until it answers again`);
  }

  /** Records that the server answered again. */
  recovered(): void {
    if (!this.down) return;
    this.down = false;
    this.log?.info({ redis: this.what }, `Redis (${this.what}) answers again`);
  }
}
