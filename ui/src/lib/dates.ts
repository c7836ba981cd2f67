// Timestamps cross IPC as RFC 3339 strings (UTC); they are shown in the user's time zone
// unless a test pins one.

import { dateTimeFormat, numberFormat, relativeTimeFormat } from './intl';

export interface DateOptions {
  timeZone?: string;
}

function parse(value: string | Date): Date | null {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDateTime(value: string | Date, locale: string, options: DateOptions = {}): string {
  const date = parse(value);
  if (!date) return String(value);
  return dateTimeFormat(locale, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
    timeZone: options.timeZone,
  }).format(date);
}

/** A calendar day such as `2026-11-24` (no time, no zone shift). */
export function formatDay(isoDay: string, locale: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDay);
  if (!match) return isoDay;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return dateTimeFormat(locale, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(date);
}

/**
 * A day as a date field shows it: year, month, day in every language, as only that order
 * cannot be misread, with the separator the language writes (`2026/11/24` in Japanese,
 * `2026-11-24` in English). Anything but a `YYYY-MM-DD` day comes back as ''.
 */
export function formatDayInput(isoDay: string, locale: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDay);
  if (!match) return '';
  return match.slice(1).join(locale === 'ja' ? '/' : '-');
}

const DAY_PATTERNS = [
  /^(?<year>[1-9]\d{3})(?<sep>[-/.・ー])(?<month>\d{1,2})\k<sep>(?<day>\d{1,2})$/,
  /^(?<year>[1-9]\d{3})年\s*(?<month>\d{1,2})月\s*(?<day>\d{1,2})日$/,
  /^(?<year>[1-9]\d{3})(?<month>\d{2})(?<day>\d{2})$/,
];

/**
 * A day typed in a date field, as `YYYY-MM-DD`: year first, then month and day, separated by
 * `-`, `/` or `.`, written `2026年11月24日`, or as eight digits. A Japanese input method's
 * full-width characters count as their plain forms, and its `・` and `ー` (what the `/` and
 * `-` keys type there) as separators. '' for a blank field, and null for anything else, a
 * day that does not exist included.
 */
export function parseDayInput(text: string): string | null {
  const typed = text.normalize('NFKC').trim();
  if (typed === '') return '';
  for (const pattern of DAY_PATTERNS) {
    const groups = pattern.exec(typed)?.groups;
    if (!groups) continue;
    const [year, month, day] = [groups.year, groups.month, groups.day].map(Number) as [number, number, number];
    const date = new Date(Date.UTC(2000, 0, 1));
    date.setUTCFullYear(year, month - 1, day);
    // Date rolls a 31st of November over into December: such a day does not exist.
    if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
    return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  }
  return null;
}

export function formatCount(value: number | bigint, locale: string): string {
  return numberFormat(locale).format(value);
}

/** The same instant in UTC, zone named (`Nov 24, 2026, 10:08:55 UTC`): the tooltip of a local time. */
export function formatUtc(value: string | Date, locale: string): string {
  const date = parse(value);
  if (!date) return String(value);
  return dateTimeFormat(locale, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
    timeZone: 'UTC',
    timeZoneName: 'short',
  }).format(date);
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
];

/** How long ago `value` was, coarsely: `5 minutes ago`, `yesterday`, `now`. */
export function formatAgo(value: string | Date, now: number, locale: string): string {
  const date = parse(value);
  if (!date) return String(value);
  const seconds = Math.round((date.getTime() - now) / 1000);
  const format = relativeTimeFormat(locale, { numeric: 'auto' });
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return format.format(Math.trunc(seconds / size), unit);
  }
  return format.format(0, 'second');
}

/** A length of time in its largest whole unit, at least a minute: `3 days`, `5時間`. */
export function formatDuration(ms: number, locale: string): string {
  const seconds = Math.max(0, ms) / 1000;
  const [unit, size] = UNITS.find(([, size]) => seconds >= size) ?? ['minute', 60];
  const count = Math.max(1, Math.floor(seconds / size));
  return numberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(count);
}
