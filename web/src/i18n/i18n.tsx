/**
 * The language context: English or Chinese, chosen by the user (remembered in local storage) or
 * else the tenant's language, and the formatters that go with it.
 */
import { createContext, useContext, type ReactNode } from 'react';
import { en, zh, type MessageKey } from './messages';

/** A supported language. */
export type Lang = 'en' | 'zh';

const tables: Record<Lang, Record<MessageKey, string>> = { en, zh };

/** Translates a key, filling `{name}` placeholders. */
export function translate(lang: Lang, key: MessageKey, vars: Record<string, string | number> = {}): string {
  return tables[lang][key].replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? `{${k}}`));
}

/** What components get from useI18n(). */
export interface I18n {
  lang: Lang;
  t: (key: MessageKey, vars?: Record<string, string | number>) => string;
  /** A date and time in the user's language. */
  dateTime: (iso: string | null | undefined) => string;
}

const Ctx = createContext<I18n>({ lang: 'en', t: (k, v) => translate('en', k, v), dateTime: (iso) => iso ?? '' });

/** Provides the language to the pages. */
export function I18nProvider({ lang, children }: { lang: Lang; children: ReactNode }) {
  const fmt = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
  const value: I18n = { lang, t: (k, v) => translate(lang, k, v), dateTime: (iso) => (iso ? fmt.format(new Date(iso)) : '–') };
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

/** The current language and translator. */
export function useI18n(): I18n {
  return useContext(Ctx);
}

const PREF = 'headroom.lang';

/** The language the user picked, if any. */
export function storedLang(): Lang | undefined {
  const v = localStorage.getItem(PREF);
  return v === 'en' || v === 'zh' ? v : undefined;
}

/** Remembers the user's pick. */
export function storeLang(lang: Lang): void {
  localStorage.setItem(PREF, lang);
}
