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
