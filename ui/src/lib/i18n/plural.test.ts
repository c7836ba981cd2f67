import { describe, expect, it } from 'vitest';
import { setLocale, tn } from './index.svelte';

describe('tn', () => {
  it('says one thing in the singular in English, and any other count in the plural', () => {
    setLocale('en');
    expect(tn('payments.count', 1, { count: '1' })).toBe('1 payment');
    expect(tn('payments.count', 0, { count: '0' })).toBe('0 payments');
    expect(tn('payments.count', 100_000, { count: '100,000' })).toBe('100,000 payments');
  });

  it('uses the one form Japanese has for every count', () => {
    setLocale('ja');
    expect(tn('payments.count', 1, { count: '1' })).toBe(tn('payments.count', 2, { count: '1' }));
  });
});
