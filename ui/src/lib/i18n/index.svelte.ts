import { en, type Catalogue, type MessageKey } from './en';
import { ja } from './ja';

export const LOCALES = ['en', 'ja'] as const;
export type Locale = (typeof LOCALES)[number];
export type { MessageKey };

const catalogues: Record<Locale, Catalogue> = { en, ja };

function isLocale(value: unknown): value is Locale {
  return LOCALES.includes(value as Locale);
}

/** The OS language decides until the user picks one (stored in the backend's settings). */
export function initialLocale(stored: string | null, languages: readonly string[]): Locale {
  if (isLocale(stored)) return stored;
  for (const language of languages) {
    const base = language.toLowerCase().split('-')[0];
    if (isLocale(base)) return base;
  }
  return 'en';
}

const state = $state({
  locale: initialLocale(
    null,
    typeof navigator === 'undefined' ? [] : (navigator.languages ?? [navigator.language]),
  ),
});

export function getLocale(): Locale {
  return state.locale;
}

export function setLocale(locale: Locale): void {
  state.locale = locale;
  document.documentElement.lang = locale;
}

export function interpolate(template: string, params?: Record<string, string | number>): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** Reads `state.locale`, so any template or effect calling it re-renders on a language switch. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  return interpolate(catalogues[state.locale][key], params);
}

/**
 * `key`, or its `.one` form where the language counts `n` as one thing ("1 payment");
 * languages without that form (Japanese) always use `key`.
 */
export function tn(key: MessageKey, n: number, params?: Record<string, string | number>): string {
  const one = `${key}.one`;
  const catalogue = catalogues[state.locale];
  const singular = one in catalogue && new Intl.PluralRules(state.locale).select(n) === 'one';
  return t(singular ? (one as MessageKey) : key, params);
}
