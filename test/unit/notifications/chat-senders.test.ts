/** Chat message shapes, vendor answers, size cuts, rate pacing and the early-warning wording. */
import { describe, expect, it } from 'vitest';
import { chatUrl, cutBytes, dingtalkPayload, dingtalkSign, feishuPayload, slackPayload, vendorError, wecomPayload, wecomUrl, type ChatMessage } from '../../../server/notifications/chat-senders.js';
import { renderNotice } from '../../../server/notifications/dispatcher.js';
import { digestLines } from '../../../server/notifications/message.js';
import type { NoticeData } from '../../../server/notifications/notice.js';
import { RatePacer, VENDOR_LIMITS } from '../../../server/notifications/rate-pacer.js';
import { defaultTemplate } from '../../../server/notifications/templates.js';

const m: ChatMessage = {
  subject: 'Writes to v are stopped',
  text: 'Writes to your volume `v` are stopped.\n- a\n- b',
  html: '',
  language: 'en',
  requestUrl: 'https://h/v1/volumes/vol_x/quota-requests',
};

describe('vendor formats', () => {
  it('builds each vendor message with the subject, the text and a link to request more', () => {
    const s = slackPayload(m);
    expect(s.text).toBe(m.subject);
    expect(s.blocks.map((b) => b.type)).toEqual(['header', 'section', 'actions']);
    expect(JSON.stringify(s.blocks[2])).toContain(m.requestUrl);
    const f = feishuPayload(m, 'sec', 1_700_000_000_123) as { timestamp: string; sign: string; msg_type: string; card: { elements: unknown[] } };
    expect(f.timestamp).toBe('1700000000'); // seconds
    expect(f.msg_type).toBe('interactive');
    expect(feishuPayload(m, undefined, 0)).not.toHaveProperty('sign');
    expect(dingtalkPayload({ ...m, language: 'zh' }).markdown.text).toContain(`[申请扩容](${m.requestUrl})`);
    expect(wecomPayload(m).markdown.content.startsWith(`**${m.subject}**`)).toBe(true);
  });

  it('signs DingTalk in the query with a millisecond timestamp, URL-encoded', () => {
    const url = new URL(chatUrl('dingtalk', { url: 'https://oapi.dingtalk.com/robot/send?access_token=t', secret: 'SEC1' }, 1_700_000_000_123));
    expect(url.searchParams.get('access_token')).toBe('t');
    expect(url.searchParams.get('timestamp')).toBe('1700000000123');
    expect(url.searchParams.get('sign')).toBe(dingtalkSign('SEC1', 1_700_000_000_123));
    // base64's + / = never reach the query raw.
    expect(url.search).not.toMatch(/sign=[^&]*[+/=]/);
    expect(chatUrl('slack', { url: 'https://hooks.slack.com/services/T/B/X' }, 1)).toBe('https://hooks.slack.com/services/T/B/X');
    expect(wecomUrl('a b')).toBe('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=a%20b');
  });

  it('cuts WeCom markdown to 4096 bytes on a character boundary', () => {
    const long = wecomPayload({ ...m, text: '存'.repeat(3000) }).markdown.content;
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(4096);
    expect(long.endsWith('…')).toBe(true);
    expect(cutBytes('abc', 10)).toBe('abc');
    expect(cutBytes('存储卷', 7)).toBe('存…');
  });

  it('reads vendor answers: a non-zero errcode in a 200 is a failure', () => {
    expect(vendorError('slack', 200, 'ok')).toBeNull();
    expect(vendorError('slack', 429, 'rate_limited')).toBe('slack answered 429: rate_limited');
    expect(vendorError('dingtalk', 200, '{"errcode":0,"errmsg":"ok"}')).toBeNull();
    expect(vendorError('dingtalk', 200, '{"errcode":130101,"errmsg":"send too fast"}')).toBe('dingtalk answered errcode 130101: send too fast');
    expect(vendorError('feishu', 200, '{"code":19021,"msg":"sign match fail"}')).toBe('feishu answered errcode 19021: sign match fail');
    expect(vendorError('feishu', 200, '{"StatusCode":0}')).toBeNull();
    expect(vendorError('wecom', 200, '<html>')).toBe('wecom answered 200 with a body that is not JSON');
  });
});

describe('RatePacer', () => {
  it('keeps Slack to one a second and Feishu to five a second and a hundred a minute', () => {
    const p = new RatePacer();
    expect(p.reserve('s', VENDOR_LIMITS.slack!, 0)).toBe(0);
    expect(p.reserve('s', VENDOR_LIMITS.slack!, 400)).toBe(600);
    expect(p.reserve('other', VENDOR_LIMITS.slack!, 400)).toBe(0); // per webhook
    expect(p.reserve('s', VENDOR_LIMITS.slack!, 1000)).toBe(0);
    let t = 0;
    let sent = 0;
    // Feishu, asked every 10 ms for two minutes.
    const times: number[] = [];
    for (; t < 120_000; t += 10) {
      if (p.reserve('f', VENDOR_LIMITS.feishu!, t) === 0) {
        sent++;
        times.push(t);
      }
    }
    for (let i = 5; i < times.length; i++) expect(times[i]! - times[i - 5]!).toBeGreaterThanOrEqual(1000);
    for (let i = 100; i < times.length; i++) expect(times[i]! - times[i - 100]!).toBeGreaterThanOrEqual(60_000);
    expect(sent).toBe(200);
  });

  it('holds DingTalk and WeCom to twenty a minute', () => {
    const p = new RatePacer();
    for (let i = 0; i < 20; i++) expect(p.reserve('d', VENDOR_LIMITS.dingtalk!, i * 100)).toBe(0);
    expect(p.reserve('d', VENDOR_LIMITS.dingtalk!, 2000)).toBe(58_000);
    expect(p.reserve('d', VENDOR_LIMITS.dingtalk!, 60_000)).toBe(0);
    expect(VENDOR_LIMITS.wecom).toEqual([{ max: 20, ms: 60_000 }]);
  });
});

describe('early-warning and digest wording', () => {
  const now = new Date('2026-12-01T00:00:00Z');
  const data: NoticeData = {
    volume: { id: 'vol_x', name: 'train' },
    tenant: { id: 'acme', name: 'Acme' },
    state: 'ok',
    reason: 'within_limits',
    usage: { bytes: '600000000000', inodes: '10' },
    limits: { softBytes: '800000000000', hardBytes: '1000000000000', softInodes: null, hardInodes: null },
    graceDeadline: null,
    forecast: { fullAt: '2026-12-03T00:00:00.000Z', bytesPerDay: '100000000000' },
    topDirectories: [],
    toRelease: null,
    links: { enforcement: 'https://h/e', request: 'https://h/r' },
    detail: null,
    manualUntil: null,
    warning: { level: 'soft', limitBytes: '800000000000', horizonDays: 7 },
    findings: [{ rule: 'pycache', paths: ['/src/__pycache__'], bytes: '20000000000', files: '9', reclaimableBytes: '20000000000', details: { directories: 1 } }],
  };
  const base = { id: 'ntf_1', eventKey: 'k', audience: 'tenant' as const, tenantId: 'acme', volumeId: 'vol_x', version: 1, createdAt: now };

  it('says which limit, when, at what rate, and what could go, in both languages', () => {
    const en = renderNotice({ ...base, type: 'quota.forecast_soft', language: 'en', data }, defaultTemplate('quota.forecast_soft', 'en'), now);
    expect(en.subject).toBe('train reaches its soft limit in 2 days');
    expect(en.text).toContain('At this rate (100 GB a day) it goes over its soft limit of 800 GB in 2 days (around 2026-12-03 00:00 UTC)');
    expect(en.text).toContain('What could go (20 GB in all):\n- ');
    expect(en.text).toContain('(/src/__pycache__)');
    const zh = renderNotice(
      { ...base, type: 'quota.forecast_full', language: 'zh', data: { ...data, warning: { level: 'hard', limitBytes: '1000000000000', horizonDays: 3 } } },
      defaultTemplate('quota.forecast_full', 'zh'),
      now,
    );
    expect(zh.text).toContain('每天 100 GB');
    expect(zh.text).toContain('达到硬限额 1 TB');
    expect(zh.text).toContain('可清理的数据（共 20 GB）');
  });

  it('writes one digest line per volume', () => {
    const lines = digestLines(
      {
        week: '2026-W49',
        pendingRequests: 1,
        volumes: [
          {
            id: 'a',
            name: 'train',
            state: 'ok',
            bytes: '600000000000',
            hardBytes: '1000000000000',
            softBytes: null,
            growthBytes: '70000000000',
            fullAt: '2026-12-03T00:00:00.000Z',
            reclaimableBytes: '20000000000',
          },
          { id: 'b', name: 'old', state: 'frozen', bytes: '5000', hardBytes: null, softBytes: null, growthBytes: '-1000', fullAt: null, reclaimableBytes: '0' },
        ],
      },
      'en',
    );
    expect(lines).toEqual(['- train: 600 GB / 1 TB (60%), +70 GB in 7 days, full by 2026-12-03 00:00 UTC, 20 GB reclaimable', '- old: 5 kB, -1 kB in 7 days, state frozen']);
  });
});

describe('rule explanations in Chinese notices', () => {
  it('renders the auto-approval explanations phrase by phrase, leaving English as it was', async () => {
    const { explanationText } = await import('../../../server/notifications/message.js');
    expect(explanationText('approved by rule r1: at most +20% once every 30 days', 'en')).toBe('approved by rule r1: at most +20% once every 30 days.');
    expect(explanationText('approved by rule r1: at most +20% once every 30 days', 'zh')).toBe('已由规则 r1 自动批准：每 30 天最多一次，最多增加 20%。');
    expect(explanationText('approved by rule r2: temporary grant up to 2x for at most 14 days', 'zh')).toBe('已由规则 r2 自动批准：临时扩容最多 2 倍，最长 14 天。');
    expect(explanationText('no rule applies (rule r1 covers permanent increases only; rule r2 allows temporary grants of at most 7 days); an admin must review it', 'zh')).toBe(
      '没有适用的自动批准规则（规则 r1 仅适用于永久扩容；规则 r2 的临时扩容最长 7 天），需管理员审批。',
    );
    expect(explanationText('no auto-approval rule for this tier; an admin must review it', 'zh')).toBe('该等级没有自动批准规则，需管理员审批。');
    expect(explanationText('approved by alice', 'zh')).toBe('由 alice 批准。');
  });
});

describe('built-in templates', () => {
  it('leave no unexpanded source in any type (a `${…}` in a plain string once did)', async () => {
    const { noticeTypes } = await import('../../../server/notifications/notice.js');
    for (const type of noticeTypes) for (const lang of ['en', 'zh'] as const) expect(defaultTemplate(type, lang).text, `${type} ${lang}`).not.toContain('${');
  });
});
