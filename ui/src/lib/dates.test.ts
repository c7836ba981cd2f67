import { describe, expect, it } from 'vitest';
import {
  formatAgo,
  formatCount,
  formatDateTime,
  formatDay,
  formatDayInput,
  formatDuration,
  formatUtc,
  parseDayInput,
} from './dates';

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

describe('formatDayInput', () => {
  it('writes a day year first, with the language’s separator', () => {
    expect(formatDayInput('2026-11-04', 'ja')).toBe('2026/11/04');
    expect(formatDayInput('2026-11-04', 'en')).toBe('2026-11-04');
  });

  it('shows nothing for no day', () => {
    expect(formatDayInput('', 'ja')).toBe('');
    expect(formatDayInput('11/04/2026', 'en')).toBe('');
  });
});

describe('parseDayInput', () => {
  it('reads a day typed the Japanese or the ISO way', () => {
    expect(parseDayInput('2026/11/24')).toBe('2026-11-24');
    expect(parseDayInput('2026-11-24')).toBe('2026-11-24');
    expect(parseDayInput('2026.11.24')).toBe('2026-11-24');
  });

  it('pads a month and day typed with one digit', () => {
    expect(parseDayInput('2026/1/5')).toBe('2026-01-05');
  });

  it('reads what a Japanese input method types', () => {
    expect(parseDayInput('２０２６／１１／２４')).toBe('2026-11-24');
    expect(parseDayInput('２０２６・１１・２４')).toBe('2026-11-24');
    expect(parseDayInput('2026ー11ー24')).toBe('2026-11-24');
    expect(parseDayInput('2026年11月24日')).toBe('2026-11-24');
    expect(parseDayInput('２０２６年 １月 ５日')).toBe('2026-01-05');
    expect(parseDayInput('20261124')).toBe('2026-11-24');
  });

  it('ignores spaces around the day', () => {
    expect(parseDayInput('  2026/11/24\u3000')).toBe('2026-11-24');
  });

  it('gives an empty string for a blank field', () => {
    expect(parseDayInput('')).toBe('');
    expect(parseDayInput('   ')).toBe('');
  });

  it('refuses days that do not exist', () => {
    expect(parseDayInput('2026/02/29')).toBeNull();
    expect(parseDayInput('2028/02/29')).toBe('2028-02-29');
    expect(parseDayInput('2026/11/31')).toBeNull();
    expect(parseDayInput('2026/13/01')).toBeNull();
    expect(parseDayInput('2026/00/10')).toBeNull();
    expect(parseDayInput('2026/11/00')).toBeNull();
    expect(parseDayInput('0999/11/24')).toBeNull();
  });

  it('refuses orders that can be misread, and half-typed days', () => {
    expect(parseDayInput('11/24/2026')).toBeNull();
    expect(parseDayInput('24.11.2026')).toBeNull();
    expect(parseDayInput('2026/11')).toBeNull();
    expect(parseDayInput('2026/11/')).toBeNull();
    expect(parseDayInput('2026-11/24')).toBeNull();
    expect(parseDayInput('yesterday')).toBeNull();
  });

  it('reads back what formatDayInput writes, in both languages', () => {
    for (const locale of ['en', 'ja']) {
      expect(parseDayInput(formatDayInput('2026-03-09', locale))).toBe('2026-03-09');
    }
  });
});

describe('formatCount', () => {
  it('groups digits', () => {
    expect(formatCount(12345, 'en')).toBe('12,345');
    expect(formatCount(12345n, 'ja')).toBe('12,345');
  });
});

describe('formatUtc', () => {
  it('names the zone, for the tooltip of a local time', () => {
    expect(formatUtc(instant, 'en')).toBe('Nov 24, 2026, 10:08:55 UTC');
    expect(formatUtc(instant, 'ja')).toBe('2026年11月24日 10:08:55 UTC');
  });
});

describe('formatAgo', () => {
  const now = Date.parse(instant);

  it('says how long ago, in the largest whole unit', () => {
    expect(formatAgo('2026-11-24T10:08:50Z', now, 'en')).toBe('now');
    expect(formatAgo('2026-11-24T10:03:00Z', now, 'en')).toBe('5 minutes ago');
    expect(formatAgo('2026-11-24T07:00:00Z', now, 'en')).toBe('3 hours ago');
    expect(formatAgo('2026-11-23T09:00:00Z', now, 'en')).toBe('yesterday');
    expect(formatAgo('2026-11-24T10:03:00Z', now, 'ja')).toBe('5 分前');
  });
});

describe('formatDuration', () => {
  const MINUTE = 60_000;

  it('says how long, in the largest whole unit, never less than a minute', () => {
    expect(formatDuration(5_000, 'en')).toBe('1 minute');
    expect(formatDuration(42 * MINUTE, 'en')).toBe('42 minutes');
    expect(formatDuration(5 * 60 * MINUTE + 59 * MINUTE, 'en')).toBe('5 hours');
    expect(formatDuration(3 * 24 * 60 * MINUTE, 'en')).toBe('3 days');
    expect(formatDuration(3 * 24 * 60 * MINUTE, 'ja')).toBe('3 日');
    // A submission time a little ahead of this computer's clock.
    expect(formatDuration(-MINUTE, 'en')).toBe('1 minute');
  });
});
