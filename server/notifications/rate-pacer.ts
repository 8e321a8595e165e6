/**
 * Pacing of chat deliveries within the vendors' documented rate limits, per webhook (channel):
 * Slack incoming webhooks 1 message per second; DingTalk robots 20 per minute (over it, the robot
 * is throttled for 10 minutes); Feishu/Lark custom bots 100 per minute and 5 per second; WeCom
 * group robots 20 per minute. A sliding log per channel; in-process, so with several dispatcher
 * instances each keeps its own log (the vendor's own rate-limit answer is then retried).
 */
import type { ChannelKind } from './channels/channel.js';

/** At most `max` sends in any `ms` window. */
export interface RateWindow {
  max: number;
  ms: number;
}

/** The documented limits per kind (none for plain webhooks and email). */
export const VENDOR_LIMITS: Partial<Record<ChannelKind, RateWindow[]>> = {
  slack: [{ max: 1, ms: 1000 }],
  dingtalk: [{ max: 20, ms: 60_000 }],
  feishu: [
    { max: 100, ms: 60_000 },
    { max: 5, ms: 1000 },
  ],
  wecom: [{ max: 20, ms: 60_000 }],
};

/** Sliding-window logs per key. */
export class RatePacer {
  private readonly sent = new Map<string, number[]>();

  /**
   * Reserves a send for `key` at `now` if every window allows it (returns 0 and records it), or
   * returns how many milliseconds to wait before one would.
   */
  reserve(key: string, windows: readonly RateWindow[], now: number): number {
    if (!windows.length) return 0;
    const longest = Math.max(...windows.map((w) => w.ms));
    const log = (this.sent.get(key) ?? []).filter((t) => now - t < longest);
    let wait = 0;
    for (const w of windows) {
      const inWindow = log.filter((t) => now - t < w.ms);
      if (inWindow.length >= w.max) wait = Math.max(wait, inWindow[inWindow.length - w.max]! + w.ms - now);
    }
    if (wait === 0) log.push(now);
    this.sent.set(key, log);
    return wait;
  }
}
