import { describe, expect, it } from 'vitest';
import { en } from './en';
import { ja } from './ja';
import { initialLocale, interpolate } from './index.svelte';

const code = import.meta.glob(['/src/**/*.{ts,svelte}', '!/src/lib/i18n/**', '!/src/**/*.test.ts'], {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

/** Keys built at run time, such as `language.${locale}`. */
const DYNAMIC_PREFIXES = ['language.'];

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('message catalogues', () => {
  it('have exactly the same keys', () => {
    expect(Object.keys(ja).sort()).toEqual(Object.keys(en).sort());
  });

  it('use the same placeholders for each key', () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(ja[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it('hold no message that the code never uses', () => {
    const everything = Object.values(code).join('\n');
    const unused = Object.keys(en).filter(
      (key) =>
        !DYNAMIC_PREFIXES.some((p) => key.startsWith(p)) &&
        // A `.one` form is used through its key's `tn` call.
        !everything.includes(`'${key.replace(/\.one$/, '')}'`),
    );
    expect(unused).toEqual([]);
  });

  it('have no empty message', () => {
    for (const text of [...Object.values(en), ...Object.values(ja)]) {
      expect(text.trim()).not.toBe('');
    }
  });
});

describe('initialLocale', () => {
  it('follows the OS language on first start', () => {
    expect(initialLocale(null, ['ja-JP', 'en-US'])).toBe('ja');
    expect(initialLocale(null, ['en-GB'])).toBe('en');
  });

  it('falls back to English for other languages', () => {
    expect(initialLocale(null, ['fr-FR'])).toBe('en');
  });

  it('prefers the stored choice', () => {
    expect(initialLocale('en', ['ja-JP'])).toBe('en');
    expect(initialLocale('xx', ['ja-JP'])).toBe('ja');
  });
});

describe('interpolate', () => {
  it('fills named placeholders and leaves unknown ones', () => {
    expect(interpolate('{shown} of {total}', { shown: 1, total: 2 })).toBe('1 of 2');
    expect(interpolate('{a} {b}', { a: 'x' })).toBe('x {b}');
  });
});
