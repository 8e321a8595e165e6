/** Notices for the API (admins see all, engineers their tenants'), and template administration. */
import { visibleTenants, type Principal } from '../auth/principal.js';
import type { Actor } from '../audit/audit-log.js';
import { errors } from '../lib/errors.js';
import { languages, noticeTypes, type Language, type NoticeType } from './notice.js';
import type { NoticeFilter, NotificationStore } from './notification-store.js';
import { checkTemplate, defaultTemplate, TemplateError, type Template } from './templates.js';

/** Notification use cases. */
export class NotificationService {
  constructor(private readonly store: NotificationStore) {}

  /** A page of notices the caller may see, newest first. */
  async list(principal: Principal, f: Omit<NoticeFilter, 'tenantIds' | 'audience'> & { audience?: 'tenant' | 'admins' }) {
    const tenantIds = visibleTenants(principal);
    // Admin alerts are about the platform, not for the tenant.
    const audience = principal.role === 'engineer' ? 'tenant' : f.audience;
    return this.store.listNotices({ ...f, tenantIds, audience });
  }

  /** Every template in effect, marked when an admin has overridden it. */
  async templates() {
    const overrides = await this.store.listTemplateOverrides();
    return noticeTypes.flatMap((type) =>
      languages.map((language) => {
        const o = overrides.find((x) => x.type === type && x.language === language);
        const t = o ?? defaultTemplate(type, language);
        return { type, language, subject: t.subject, text: t.text, html: t.html, overridden: !!o, updatedBy: o?.updatedBy ?? null, updatedAt: o?.updatedAt.toISOString() ?? null };
      }),
    );
  }

  /** Replaces a template after checking that it renders (known variables, balanced blocks). */
  async putTemplate(actor: Actor, type: NoticeType, language: Language, t: Template): Promise<void> {
    for (const [part, source] of Object.entries(t)) {
      try {
        checkTemplate(source);
      } catch (err) {
        if (err instanceof TemplateError) throw errors.templateInvalid(`${part}: ${err.message}`);
        throw err;
      }
    }
    await this.store.transaction(async ({ store, audit }) => {
      const before = (await store.listTemplateOverrides()).find((o) => o.type === type && o.language === language);
      // Only the three parts: a body may carry more, which the table would drop.
      await store.upsertTemplate({ type, language, subject: t.subject, text: t.text, html: t.html, updatedBy: actor.sub });
      await audit(actor, {
        action: 'notification_template.updated',
        entityType: 'notification_template',
        entityId: `${type}/${language}`,
        tenantId: null,
        before: before ? { subject: before.subject, text: before.text, html: before.html } : null,
        after: t,
      });
    });
  }

  /** Goes back to the built-in template. */
  async resetTemplate(actor: Actor, type: NoticeType, language: Language): Promise<void> {
    await this.store.transaction(async ({ store, audit }) => {
      const before = (await store.listTemplateOverrides()).find((o) => o.type === type && o.language === language);
      if (!(await store.deleteTemplate(type, language))) return;
      await audit(actor, {
        action: 'notification_template.reset',
        entityType: 'notification_template',
        entityId: `${type}/${language}`,
        tenantId: null,
        before: before ? { subject: before.subject, text: before.text, html: before.html } : null,
        after: null,
      });
    });
  }
}
