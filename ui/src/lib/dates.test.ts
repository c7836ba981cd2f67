import { describe, expect, it } from 'vitest';
import { formatCount, formatDateTime, formatDay } from './dates';

const instant = '2026-11-24T10:08:55Z';

describe('formatDateTime', () => {
  it('formats in English', () => {
    expect(formatDateTime(instant, 'en', { timeZone: 'UTC' })).toBe('Nov 24, 2026, 10:08:55');
  });

  it('formats in Japanese', () => {
    expect(formatDateTime(instant, 'ja', { timeZone: 'UTC' })).toBe('2026年11月24日 10:08:55');
  });

  it('shows the time in the requested zone', () => {
    expect(formatDateTime(instant, 'ja', { timeZone: 'Asia/Tokyo' })).toBe('2026年11月24日 19:08:55');
  });

  it('returns unparseable input unchanged', () => {
    expect(formatDateTime('not a date', 'en')).toBe('not a date');
  });
});

describe('formatDay', () => {
  it('formats a calendar day per locale without shifting it', () => {
    expect(formatDay('2026-11-01', 'en')).toBe('Nov 1');
    expect(formatDay('2026-11-01', 'ja')).toBe('11月1日');
  });
});

describe('formatCount', () => {
  it('groups digits', () => {
    expect(formatCount(12345, 'en')).toBe('12,345');
    expect(formatCount(12345n, 'ja')).toBe('12,345');
  });
});
