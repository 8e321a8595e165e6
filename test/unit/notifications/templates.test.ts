import { describe, expect, it } from 'vitest';
import { humanBytes, humanCount, humanDuration } from '../../../server/notifications/humanize.js';
import { noticeVars } from '../../../server/notifications/message.js';
import { noticeTypes, type NoticeData } from '../../../server/notifications/notice.js';
import { checkTemplate, defaultTemplate, render, TemplateError } from '../../../server/notifications/templates.js';
import { renderNotice } from '../../../server/notifications/dispatcher.js';

const now = new Date('2026-11-29T12:00:00Z');
const data: NoticeData = {
  volume: { id: 'vol_x', name: 'alice-data' },
  tenant: { id: 'alice', name: 'Alice' },
  state: 'over_soft',
  reason: 'soft_bytes_exceeded',
  usage: { bytes: '920000000000', inodes: '1500000' },
  limits: { softBytes: '900000000000', hardBytes: '1000000000000', softInodes: null, hardInodes: null },
  graceDeadline: '2026-12-02T12:00:00.000Z',
  forecast: { fullAt: '2026-12-02T12:00:00.000Z', bytesPerDay: '26000000000' },
  topDirectories: [
    { path: '/checkpoints', bytes: '600000000000', inodes: '3000' },
    { path: '/envs', bytes: '200000000000', inodes: '1200000' },
  ],
  toRelease: { bytes: '38000000001', inodes: '0' },
  links: { enforcement: 'https://h/v1/volumes/vol_x/enforcement', request: 'https://h/v1/volumes/vol_x/quota-requests' },
  detail: null,
  manualUntil: null,
};

describe('notice wording', () => {
  it('reads like the issue asks: percent, sizes, time to full, the largest folders, what to do', () => {
    const m = renderNotice({ ...base(), data }, defaultTemplate('quota.soft_exceeded', 'en'), now);
    expect(m.subject).toBe('Your volume alice-data is over its soft limit');
    expect(m.text).toContain('Your volume `alice-data` is 92% full (920 GB of 1 TB).');
    expect(m.text).toContain('At this rate it is full in 3 days.');
    expect(m.text).toContain('The largest folders are /checkpoints (600 GB) and /envs (200 GB, 1.2 M files).');
    expect(m.text).toContain('request more at https://h/v1/volumes/vol_x/quota-requests');
    expect(m.html).toContain('<code>alice-data</code>');
  });

  it('has every type in English and Chinese, using only known variables', () => {
    for (const type of noticeTypes) {
      for (const lang of ['en', 'zh'] as const) {
        const t = defaultTemplate(type, lang);
        for (const part of [t.subject, t.text, t.html]) expect(() => checkTemplate(part)).not.toThrow();
        const m = renderNotice({ ...base(), type, language: lang, data }, t, now);
        expect(m.text).not.toMatch(/\{\{|\}\}/);
        if (lang === 'zh') expect(m.text).toMatch(/[\u4e00-\u9fff]/);
      }
    }
    const zh = renderNotice({ ...base(), language: 'zh', data }, defaultTemplate('quota.soft_exceeded', 'zh'), now);
    expect(zh.text).toContain('已用 92%（920 GB / 1 TB）');
    expect(zh.text).toContain('约 3 天 后写满');
  });

  it('talks about files when the inode limit is the problem', () => {
    const d = { ...data, reason: 'hard_inodes_reached', limits: { ...data.limits, hardInodes: '1600000' } };
    const v = noticeVars(d, 'en', now);
    expect(v.usageLine).toBe('at 93% of its file limit (1.5 M of 1.6 M files)');
    expect(v.reasonText).toBe('it reached its limit of 1.6 M files');
  });

  it('renders blocks only when their variable is set, and escapes HTML', () => {
    const vars = noticeVars({ ...data, forecast: null, volume: { id: 'v', name: '<b>x</b>' } }, 'en', now);
    expect(render('a{{#fullIn}} full in {{fullIn}}{{/fullIn}}.', vars)).toBe('a.');
    expect(render('{{volumeName}}', vars, true)).toBe('&#60;b&#62;x&#60;/b&#62;');
    expect(() => checkTemplate('{{nope}}')).toThrow(TemplateError);
    expect(() => checkTemplate('{{#fullIn}} open')).toThrow(/never closed/);
    expect(() => checkTemplate('{{/fullIn}}')).toThrow(/closed without being opened/);
  });

  it('humanises numbers', () => {
    expect(humanBytes(920_000_000_000n)).toBe('920 GB');
    expect(humanBytes(1_000_000_000_000n)).toBe('1 TB');
    expect(humanBytes(1_550_000_000_000)).toBe('1.55 TB');
    expect(humanBytes(512)).toBe('512 B');
    expect(humanCount(1_200_000)).toBe('1.2 M');
    expect(humanCount(950)).toBe('950');
    expect(humanDuration(3 * 86_400, 'en')).toBe('3 days');
    expect(humanDuration(3600, 'en')).toBe('60 minutes');
    expect(humanDuration(5 * 3600, 'zh')).toBe('5 小时');
  });
});

function base() {
  return {
    id: 'ntf_1',
    eventKey: 'k',
    type: 'quota.soft_exceeded' as const,
    version: 1,
    audience: 'tenant' as const,
    tenantId: 'alice',
    volumeId: 'vol_x',
    language: 'en' as const,
    createdAt: now,
  };
}
