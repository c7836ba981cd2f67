import { describe, expect, it } from 'vitest';
import { countryName, countryOptions, isCountryCode } from './countries';
import { cleanDraft, draftOf, emptyUserDraft, userChanges, validateUser, validPhone } from './user-form';

const draft = (patch: Partial<ReturnType<typeof emptyUserDraft>> = {}) => ({
  ...emptyUserDraft(),
  name: '山田 花子',
  email: 'hanako@example.jp',
  ...patch,
});

describe('validateUser', () => {
  it('accepts a Japanese name as given, with no phone or country', () => {
    expect(validateUser(draft())).toEqual({});
  });

  it('reports every problem at once', () => {
    expect(validateUser({ name: ' ', email: 'nope', phone: '03-1234-5678', country: 'XX' })).toEqual({
      name: { key: 'validation.required' },
      email: { key: 'validation.email' },
      phone: { key: 'users.form.phone_format' },
      country: { key: 'users.form.country_format' },
    });
    expect(validateUser(draft({ email: '' })).email).toEqual({ key: 'validation.required' });
  });

  it('counts the name in characters as the gateway does, and refuses control characters', () => {
    expect(validateUser(draft({ name: '𠮷'.repeat(100) })).name).toBeUndefined();
    expect(validateUser(draft({ name: '𠮷'.repeat(101) })).name).toEqual({
      key: 'validation.too_long',
      params: { max: 100 },
    });
    expect(validateUser(draft({ name: 'a\u0007b' })).name).toEqual({ key: 'users.form.name_control' });
  });

  it('takes a phone with separators and a country in small letters', () => {
    const typed = draft({ phone: ' +81 3-1234-5678 ', country: 'jp' });
    expect(validateUser(typed)).toEqual({});
    expect(cleanDraft(typed)).toMatchObject({ phone: '+81312345678', country: 'JP' });
  });
});

describe('validPhone', () => {
  it('is E.164: a plus, 8 to 15 digits, no leading zero', () => {
    expect(validPhone('+81312345678')).toBe(true);
    expect(validPhone('+12345678')).toBe(true);
    expect(validPhone('+1234567')).toBe(false);
    expect(validPhone('+1234567890123456')).toBe(false);
    expect(validPhone('+0312345678')).toBe(false);
    expect(validPhone('0312345678')).toBe(false);
  });
});

describe('userChanges', () => {
  const original = draftOf({ name: '山田 花子', email: 'hanako@example.jp', phone: null, country: 'JP' });

  it('lists only what changed, old and new', () => {
    expect(userChanges(original, { ...original, phone: '+81 90 1234 5678' })).toEqual([
      { field: 'phone', from: '', to: '+819012345678' },
    ]);
  });

  it('sees an emptied field as a change and whitespace as none', () => {
    expect(userChanges(original, { ...original, country: '', name: ' 山田 花子 ' })).toEqual([
      { field: 'country', from: 'JP', to: '' },
    ]);
    expect(userChanges(original, original)).toEqual([]);
  });
});

describe('countries', () => {
  it('knows the ISO codes and names them in the user’s language', () => {
    expect(isCountryCode('JP')).toBe(true);
    expect(isCountryCode('XX')).toBe(false);
    expect(countryName('JP', 'en')).toBe('Japan');
    expect(countryName('JP', 'ja')).toBe('日本');
  });

  it('offers every country, home markets first', () => {
    const options = countryOptions('en');
    expect(options).toHaveLength(249);
    expect(options.slice(0, 3).map((o) => o.code)).toEqual(['JP', 'US', 'SG']);
    expect(options[3]?.name).toBe('Afghanistan');
  });
});
