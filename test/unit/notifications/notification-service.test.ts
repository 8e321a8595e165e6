/**
 * NotificationService over the in-memory store: who sees which notices, the templates in effect,
 * and template edits checked before they are stored, audited in the same transaction.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeNotificationStore } from '../../../server/notifications/fake-notification-store.js';
import type { NoticeData } from '../../../server/notifications/notice.js';
import type { NewStoredNotice } from '../../../server/notifications/notification-store.js';
import { NotificationService } from '../../../server/notifications/notification-service.js';
import { defaultTemplate } from '../../../server/notifications/templates.js';
import { actor, admin, engineer, failAudits, rejectsWith } from '../../support/unit.js';

const data = { volume: { id: 'vol_1', name: 'data' } } as unknown as NoticeData;
let seq = 0;
const notice = (o: Partial<NewStoredNotice> = {}): NewStoredNotice => {
  const id = `ntf_${String(++seq).padStart(26, '0')}`;
  return { id, eventKey: id, type: 'quota.frozen', version: 1, audience: 'tenant', tenantId: 'acme', volumeId: 'vol_1', language: 'en', data, ...o };
};
const template = { subject: 'Frozen: {{volumeName}}', text: 'Volume {{volumeName}} is frozen.', html: '<p>{{volumeName}}</p>' };

describe('NotificationService', () => {
  let store: FakeNotificationStore;
  let service: NotificationService;
  beforeEach(() => {
    store = new FakeNotificationStore();
    service = new NotificationService(store);
  });

  describe('list', () => {
    let ids: Record<'acme' | 'acmeAdmin' | 'other', string>;
    beforeEach(async () => {
      const acme = notice();
      const acmeAdmin = notice({ audience: 'admins', type: 'admin.storage_gap' });
      const other = notice({ tenantId: 'other', volumeId: 'vol_2' });
      for (const n of [acme, acmeAdmin, other]) await store.insertNotice(n, [{ channel: 'webhook', target: 'https://h.example' }]);
      ids = { acme: acme.id, acmeAdmin: acmeAdmin.id, other: other.id };
    });

    it("shows an engineer only its tenants' notices, never the admins' alerts about them", async () => {
      const rows = await service.list(engineer('acme'), { audience: 'admins', limit: 10 });
      expect(rows.map((n) => n.id)).toEqual([ids.acme]);
      expect(rows[0]!.deliveries).toMatchObject([{ channel: 'webhook', state: 'pending' }]);
      expect(await service.list(engineer(), { limit: 10 })).toEqual([]);
    });

    it('shows an admin every notice, newest first, filtered by audience, volume and type, paged', async () => {
      const list = async (f: Parameters<NotificationService['list']>[1]) => (await service.list(admin, f)).map((n) => n.id);
      expect(await list({ limit: 10 })).toEqual([ids.other, ids.acmeAdmin, ids.acme]);
      expect(await list({ audience: 'admins', limit: 10 })).toEqual([ids.acmeAdmin]);
      expect(await list({ volumeId: 'vol_2', limit: 10 })).toEqual([ids.other]);
      expect(await list({ type: 'quota.frozen', beforeId: ids.other, limit: 10 })).toEqual([ids.acme]);
      expect(await list({ limit: 1 })).toEqual([ids.other]);
    });
  });

  describe('templates', () => {
    it('lists every type and language, the built-in ones unless overridden', async () => {
      await service.putTemplate(actor, 'quota.frozen', 'zh', template);
      const all = await service.templates();
      expect(all).toHaveLength(2 * new Set(all.map((t) => t.type)).size);
      const zh = all.find((t) => t.type === 'quota.frozen' && t.language === 'zh');
      expect(zh).toMatchObject({ ...template, overridden: true, updatedBy: 'root' });
      expect(zh!.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      const en = all.find((t) => t.type === 'quota.frozen' && t.language === 'en');
      expect(en).toEqual({ type: 'quota.frozen', language: 'en', ...defaultTemplate('quota.frozen', 'en'), overridden: false, updatedBy: null, updatedAt: null });
    });

    it('audits a replacement with the override it replaced', async () => {
      await service.putTemplate(actor, 'quota.frozen', 'en', template);
      await service.putTemplate(actor, 'quota.frozen', 'en', { ...template, subject: 'Now frozen' });
      expect(store.audits.map((a) => [a.action, a.entityType, a.entityId, a.tenantId])).toEqual([
        ['notification_template.updated', 'notification_template', 'quota.frozen/en', null],
        ['notification_template.updated', 'notification_template', 'quota.frozen/en', null],
      ]);
      expect(store.audits[0]!.before).toBeNull();
      expect(store.audits[1]).toMatchObject({ actor, before: template, after: { ...template, subject: 'Now frozen' } });
    });

    it('refuses a template that would not render, and stores nothing', async () => {
      const e = await rejectsWith(service.putTemplate(actor, 'quota.frozen', 'en', { ...template, text: '{{#request}} never closed' }), 400, 'template_invalid');
      expect(e.message).toMatch(/^text: /);
      await rejectsWith(service.putTemplate(actor, 'quota.frozen', 'en', { ...template, subject: '{{nope}}' }), 400, 'template_invalid');
      expect(await store.listTemplateOverrides()).toEqual([]);
      expect(store.audits).toEqual([]);
    });

    it('goes back to the built-in template, audited; resetting a built-in one does nothing', async () => {
      await service.resetTemplate(actor, 'quota.frozen', 'en');
      expect(store.audits).toEqual([]);
      await service.putTemplate(actor, 'quota.frozen', 'en', template);
      await service.resetTemplate(actor, 'quota.frozen', 'en');
      expect(await store.listTemplateOverrides()).toEqual([]);
      expect(store.audits.at(-1)).toMatchObject({ action: 'notification_template.reset', entityId: 'quota.frozen/en', before: template, after: null });
    });

    it('keeps the template as it was when its audit row cannot be written', async () => {
      await service.putTemplate(actor, 'quota.frozen', 'en', template);
      failAudits(store);
      await expect(service.putTemplate(actor, 'quota.frozen', 'en', { ...template, subject: 'Lost' })).rejects.toThrow('audit log down');
      await expect(service.resetTemplate(actor, 'quota.frozen', 'en')).rejects.toThrow('audit log down');
      expect((await store.listTemplateOverrides()).map((t) => t.subject)).toEqual([template.subject]);
    });
  });
});
